"""Decision consistency and accuracy checked against simulated true and observed classifications.

Each simulation draws true scores from a known model, two independent administrations of the same form
(consistency: do they agree?) and compares with the true classification (accuracy). Sample sizes of
20 000 put the simulation's own SE near .003; tolerances are stated per index.
"""
import numpy as np
import pytest

from psychometrics.irt.equating import ItemParameters
from psychometrics.standards import decision as dc

N_ITEMS = 40
CUT = 26


@pytest.fixture(scope="module")
def binomial_sim():
    rng = np.random.default_rng(2024)
    tau = rng.beta(6, 4, 20_000)
    x1 = rng.binomial(N_ITEMS, tau)
    x2 = rng.binomial(N_ITEMS, tau)
    consistency = np.mean((x1 >= CUT) == (x2 >= CUT))
    accuracy = np.mean((x1 >= CUT) == (tau >= CUT / N_ITEMS))
    return x1, consistency, accuracy


def test_huynh_matches_simulated_beta_binomial(binomial_sim):
    x1, consistency, accuracy = binomial_sim
    res = dc.huynh(x1, N_ITEMS, CUT)
    assert res.consistency == pytest.approx(consistency, abs=0.01)
    assert res.accuracy == pytest.approx(accuracy, abs=0.01)
    assert res.pass_rate == pytest.approx(np.mean(x1 >= CUT), abs=0.01)
    assert 0 < res.kappa < 1


def test_livingston_lewis_matches_simulation(binomial_sim):
    x1, consistency, accuracy = binomial_sim
    rel = dc.kr21(x1, N_ITEMS)  # the reliability of a binomial-error test is KR-21
    res = dc.livingston_lewis(x1, N_ITEMS, CUT, rel)
    assert res.details["effective_length"] == pytest.approx(N_ITEMS, abs=1)
    assert res.consistency == pytest.approx(consistency, abs=0.015)
    assert res.accuracy == pytest.approx(accuracy, abs=0.015)
    assert res.false_positive + res.false_negative == pytest.approx(1 - res.accuracy)


def test_subkoviak_is_close_to_simulated_consistency(binomial_sim):
    x1, consistency, _ = binomial_sim
    res = dc.subkoviak(x1, N_ITEMS, CUT)
    # Regressed true-score estimates shrink the spread, so Subkoviak is approximate: within .03.
    assert res.consistency == pytest.approx(consistency, abs=0.03)
    assert np.isnan(res.accuracy)


@pytest.fixture(scope="module")
def irt_sim():
    rng = np.random.default_rng(99)
    a = rng.uniform(0.7, 2.0, 30)
    b = rng.normal(0, 1, 30)
    params = ItemParameters.from_arrays(a, b)
    theta = rng.normal(0, 1, 20_000)
    p = params.p(theta)
    x1 = (rng.random(p.shape) < p).sum(1)
    x2 = (rng.random(p.shape) < p).sum(1)
    return params, theta, x1, x2


def test_lee_matches_simulated_irt_classification(irt_sim):
    params, theta, x1, x2 = irt_sim
    cut = 18
    res = dc.lee_classification(params, cut)
    true_pass = params.tcc(theta) >= cut
    assert res.consistency == pytest.approx(np.mean((x1 >= cut) == (x2 >= cut)), abs=0.01)
    assert res.accuracy == pytest.approx(np.mean((x1 >= cut) == true_pass), abs=0.01)
    # "D method": the persons' own θ as the ability distribution gives the same answer.
    res_d = dc.lee_classification(params, cut, theta=theta[:5000])
    assert res_d.consistency == pytest.approx(res.consistency, abs=0.01)


def test_rudner_matches_simulation_with_known_error():
    rng = np.random.default_rng(5)
    theta = rng.normal(0, 1, 20_000)
    se = 0.3
    theta_hat = theta + rng.normal(0, se, theta.size)
    theta_hat2 = theta + rng.normal(0, se, theta.size)
    res = dc.rudner(theta_hat, se, theta_cut=0.5)
    # Rudner treats θ | θ̂ as N(θ̂, SE²), ignoring regression to the mean: within .02 of the simulation.
    assert res.accuracy == pytest.approx(np.mean((theta_hat >= 0.5) == (theta >= 0.5)), abs=0.02)
    assert res.consistency == pytest.approx(np.mean((theta_hat >= 0.5) == (theta_hat2 >= 0.5)), abs=0.02)


def test_livingston_k2_hand_worked():
    # μ = 5, σ² = 5 (denominator N), C = 3, ρ = .8: (.8·5 + 4)/(5 + 4) = 8/9.
    assert dc.livingston_k2([2, 4, 6, 8], 3, 0.8) == pytest.approx(8 / 9)
    # At the mean K² equals the reliability.
    assert dc.livingston_k2([2, 4, 6, 8], 5, 0.8) == pytest.approx(0.8)


def test_csem_lord_keats_and_irt_by_hand():
    assert dc.csem_lord(30, 40) == pytest.approx(np.sqrt(30 * 10 / 39))
    assert dc.csem_lord([0, 40], 40).tolist() == [0, 0]
    assert dc.csem_keats(30, 40, 0.9, 0.8) == pytest.approx(np.sqrt(0.1 / 0.2) * np.sqrt(300 / 39))
    params = ItemParameters.from_arrays([1.0, 2.0], [0.0, 1.0])
    out = dc.csem_irt([0.5], params)
    p = 1 / (1 + np.exp(-np.array([1.0, 2.0]) * (0.5 - np.array([0.0, 1.0]))))
    assert out["csem_raw"].iloc[0] == pytest.approx(np.sqrt(np.sum(p * (1 - p))))
    info = np.sum(np.array([1.0, 4.0]) * p * (1 - p))
    assert out["csem_theta"].iloc[0] == pytest.approx(1 / np.sqrt(info))


def test_decision_summary_and_bad_input(binomial_sim):
    x1, _, _ = binomial_sim
    out = dc.decision_summary(x1[:2000], N_ITEMS, CUT, dc.kr21(x1, N_ITEMS))
    assert out["method"].tolist() == ["livingston_lewis", "huynh", "subkoviak"]
    with pytest.raises(dc.InputError):
        dc.huynh([5, 5, 5], N_ITEMS, CUT)
    with pytest.raises(dc.InputError):
        dc.lee_classification(ItemParameters.from_arrays([1.0], [0.0]), 3)


def test_four_parameter_beta_recovers_known_parameters_from_exact_moments():
    from scipy import stats

    alpha, beta, lower, upper = 2.0, 5.0, 0.2, 0.95
    dist = stats.beta(alpha, beta, loc=lower, scale=upper - lower)
    mean, var, skew, kurt = (float(v) for v in dist.stats(moments="mvsk"))
    fit = dc.four_parameter_beta(mean, var, skew, kurt)
    np.testing.assert_allclose(fit, (alpha, beta, lower, upper), rtol=1e-8)


def test_livingston_lewis_four_parameter_beta_matches_skewed_simulation():
    rng = np.random.default_rng(77)
    tau = 0.25 + 0.7 * rng.beta(5, 2, 20_000)  # true proportions on [.25, .95], skewed to the left
    x1, x2 = rng.binomial(N_ITEMS, tau), rng.binomial(N_ITEMS, tau)
    res = dc.livingston_lewis(x1, N_ITEMS, CUT, dc.kr21(x1, N_ITEMS))
    assert res.details["beta_parameters"] == 4
    assert res.details["lower"] == pytest.approx(0.25, abs=0.08)
    assert res.consistency == pytest.approx(np.mean((x1 >= CUT) == (x2 >= CUT)), abs=0.015)
    assert res.accuracy == pytest.approx(np.mean((x1 >= CUT) == (tau >= CUT / N_ITEMS)), abs=0.015)


def test_kr21_hand_worked():
    # μ = 5, σ² = 5 (denominator N), n = 10: KR-21 = 10/9 · [1 − 5·5/(10·5)] = 10/9 · 1/2 = 5/9.
    assert dc.kr21([2, 4, 6, 8], 10) == pytest.approx(5 / 9)


def test_kappa_matches_simulated_agreement(binomial_sim):
    """Cohen's (1960) kappa of two simulated administrations against the beta-binomial (Huynh) kappa."""
    rng = np.random.default_rng(31)
    tau = rng.beta(6, 4, 20_000)
    pass1, pass2 = rng.binomial(N_ITEMS, tau) >= CUT, rng.binomial(N_ITEMS, tau) >= CUT
    p0 = np.mean(pass1 == pass2)
    pc = pass1.mean() * pass2.mean() + (1 - pass1.mean()) * (1 - pass2.mean())
    res = dc.huynh(binomial_sim[0], N_ITEMS, CUT)
    assert res.kappa == pytest.approx((p0 - pc) / (1 - pc), abs=0.03)


def test_true_score_moments_recover_a_known_beta():
    """Binomial-error moments of τ (Lord 1965) from simulated scores against the generating Beta(6, 4)."""
    from scipy import stats

    rng = np.random.default_rng(8)
    x = rng.binomial(N_ITEMS, rng.beta(6, 4, 200_000))
    mean, var, skew, _kurt = dc.true_score_moments(x, N_ITEMS)
    m, v, s = (float(t) for t in stats.beta(6, 4).stats(moments="mvs"))
    assert mean == pytest.approx(m, abs=0.002)
    assert var == pytest.approx(v, rel=0.03)
    assert skew == pytest.approx(s, abs=0.05)
