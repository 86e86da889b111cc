"""Conditional maximum likelihood Rasch (psychometrics/irt/rasch_cml.py).

Sources of the reference values:
- ESFs: hand-worked (the sum over the subsets of each size, by enumeration).
- Difficulties, conditional log-likelihood and SEs: brute force — the conditional likelihood written out by
  enumerating every response pattern of each raw score (no ESF recursion), maximized by Nelder–Mead, and its
  Hessian by central differences (Andersen 1972; Fischer & Molenaar 1995, ch. 3 for the likelihood).
- Recovery of known difficulties on simulated data, and agreement with our MML Rasch (which must coincide
  with CML up to sampling noise when θ is normal; Fischer & Molenaar 1995, ch. 3).
- Person θ by raw score: the root of Σ P_j(θ) = r, checked against ``scoring.theta_from_raw_score`` (an
  independent bisection of the test characteristic curve).
- LSAT6/LSAT7 (../shared/reference-data): CML and MML Rasch difficulties, centred, agree within 0.005.
"""
import itertools
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import optimize

from certbank_core.errors import EstimationError
from psychometrics.irt.estimation import calibrate
from psychometrics.irt.rasch_cml import calibrate_cml, conditional_log_likelihood, esf, theta_by_score
from psychometrics.irt.scoring import theta_from_raw_score

REF = Path(__file__).resolve().parents[2] / ".." / "shared" / "reference-data"


def simulate_rasch(rng, n, b, sd=1.0):
    theta = rng.normal(0, sd, n)
    return (rng.random((n, b.size)) < 1 / (1 + np.exp(-(theta[:, None] - b[None, :])))).astype(float)


def test_esf_hand_worked():
    eps = np.array([0.5, 1.2, 2.0, 0.3])
    gamma, log_scale, gamma1 = esf(eps, order=1)
    full = gamma[0] * np.exp(log_scale[0])
    # γ_1 = 4.0, γ_2 = .6+1+.15+2.4+.36+.6 = 5.11, γ_3 = 1.2+.18+.3+.72 = 2.4, γ_4 = .36
    np.testing.assert_allclose(full, [1.0, 4.0, 5.11, 2.4, 0.36], rtol=1e-12)
    for j in range(4):
        rest = np.delete(eps, j)
        brute = [sum(np.prod(c) for c in itertools.combinations(rest, r)) for r in range(4)]
        np.testing.assert_allclose(gamma1[0, j, :4] * np.exp(log_scale[0]), brute, rtol=1e-12)


def _brute_cll(x, b):
    """log L_C by enumeration of all patterns with each person's raw score over the items they answered."""
    total = 0.0
    for row in x:
        seen = np.flatnonzero(~np.isnan(row))
        r = int(np.nansum(row))
        if r == 0 or r == seen.size:
            continue
        denom = sum(np.exp(-b[list(c)].sum()) for c in itertools.combinations(seen, r))
        total += -np.nansum(row * b) - np.log(denom)
    return total


@pytest.fixture(scope="module")
def small():
    rng = np.random.default_rng(2024)
    b = np.array([-1.0, -0.3, 0.4, 1.1])
    x = simulate_rasch(rng, 300, b)
    x[rng.random(x.shape) < 0.08] = np.nan          # some not presented
    return x


def test_cml_matches_brute_force_maximum(small):
    fit = calibrate_cml(small)

    def neg(eta):
        return -_brute_cll(small, np.append(eta, -eta.sum()))

    res = optimize.minimize(neg, np.zeros(3), method="Nelder-Mead",
                            options={"xatol": 1e-9, "fatol": 1e-11, "maxiter": 20000})
    b_brute = np.append(res.x, -res.x.sum())
    np.testing.assert_allclose(fit.b, b_brute, atol=1e-5)
    assert abs(fit.b.sum()) < 1e-10
    assert fit.conditional_log_likelihood == pytest.approx(-res.fun, abs=1e-8)
    assert conditional_log_likelihood(small, fit.b) == pytest.approx(_brute_cll(small, fit.b), abs=1e-9)
    assert fit.converged


def test_cml_standard_errors_match_numerical_hessian(small):
    fit = calibrate_cml(small)
    eta = fit.b[:-1]
    h = 1e-4
    k = eta.size
    hess = np.zeros((k, k))
    f = lambda e: _brute_cll(small, np.append(e, -e.sum()))  # noqa: E731
    for i in range(k):
        for j in range(k):
            ei, ej = np.eye(k)[i] * h, np.eye(k)[j] * h
            hess[i, j] = (f(eta + ei + ej) - f(eta + ei - ej) - f(eta - ei + ej) + f(eta - ei - ej)) / (4 * h * h)
    W = np.vstack([np.eye(k), -np.ones((1, k))])
    se = np.sqrt(np.diag(W @ np.linalg.inv(-hess) @ W.T))
    np.testing.assert_allclose(fit.se_b, se, rtol=1e-3)


def test_cml_recovers_difficulties_and_agrees_with_mml():
    rng = np.random.default_rng(77)
    b = np.linspace(-2, 2, 20)
    x = simulate_rasch(rng, 5000, b, sd=1.2)
    fit = calibrate_cml(x)
    truth = b - b.mean()
    z = (fit.b - truth) / fit.se_b
    assert np.sqrt(np.mean(z ** 2)) < 1.5           # errors on the scale of the stated SEs
    assert np.max(np.abs(fit.b - truth)) < 0.1
    mml = calibrate(x, "rasch")
    np.testing.assert_allclose(fit.b, mml.b - mml.b.mean(), atol=0.02)


def test_theta_by_score_inverts_the_tcc():
    b = np.array([-1.2, -0.4, 0.0, 0.7, 1.5, 2.0])
    table = theta_by_score(b)
    inner = table.theta[1:-1]
    np.testing.assert_allclose(inner, theta_from_raw_score(np.arange(1, 6), np.ones(6), b), atol=1e-9)
    assert list(table.bounded) == [True, False, False, False, False, False, True]
    assert table.theta[0] == -4.0 and table.theta[-1] == 4.0
    p = 1 / (1 + np.exp(-(inner[:, None] - b)))
    np.testing.assert_allclose(table.se[1:-1], 1 / np.sqrt((p * (1 - p)).sum(axis=1)), rtol=1e-12)


def test_cml_refuses_an_item_without_finite_estimate():
    x = np.array([[1, 0, 1], [1, 1, 0], [1, 0, 0], [0, 0, 0]], dtype=float)
    with pytest.raises(EstimationError, match="item1"):
        calibrate_cml(x)


@pytest.mark.skipif(not REF.exists(), reason="../shared/reference-data is not present")
@pytest.mark.parametrize("name", ["ltm_lsat", "lsat7"])
def test_lsat_cml_agrees_with_mml_rasch(name):
    x = pd.read_csv(REF / f"{name}.csv").to_numpy(float)
    fit = calibrate_cml(x)
    mml = calibrate(x, "rasch")
    np.testing.assert_allclose(fit.b, mml.b - mml.b.mean(), atol=0.005)
    assert fit.n_used < 1000 and fit.converged


def test_a_full_cml_calibration_keeps_the_cml_difficulties_and_recovers_the_population():
    # step 1 is calibrate_cml (checked above against brute force); step 2 fits only θ ~ N(μ, σ²) around those
    # difficulties: μ and σ must come back as the simulated population's, on the Σ b = 0 scale
    from psychometrics.irt.rasch_cml import calibrate_rasch_cml
    rng = np.random.default_rng(2)
    b = rng.normal(0, 1, 20)
    theta = rng.normal(0.5, 1.3, 3000)
    x = (rng.random((3000, 20)) < 1 / (1 + np.exp(-(theta[:, None] - b[None, :])))).astype(float)
    cml = calibrate_cml(x)
    cal = calibrate_rasch_cml(x)
    np.testing.assert_allclose(cal.b, cml.b, atol=1e-12)
    np.testing.assert_allclose(cal.se_b, cml.se_b, atol=1e-12)
    assert cal.estimation == "cml" and not cal.fixed.any() and (cal.a == 1).all() and (cal.c == 0).all()
    assert cal.latent_mean == pytest.approx(theta.mean() - b.mean(), abs=0.06)    # measured 0.516 vs 0.512
    assert cal.latent_sd == pytest.approx(theta.std(), abs=0.06)                  # measured 1.301 vs 1.303
    assert cal.n_parameters == 21 and cal.summary()["cml"]["n_used"] == cml.n_used
    # on the normal metric the difficulties are b / D and the population scales with them
    normal = calibrate_rasch_cml(x, D=1.702)
    np.testing.assert_allclose(normal.b, cml.b / 1.702, atol=1e-12)
    assert normal.latent_sd == pytest.approx(cal.latent_sd / 1.702, rel=0.01)


def test_every_item_held_fixed_estimates_the_population_alone():
    # a population on the bank scale from its responses to bank items: μ and σ of the simulated θ
    rng = np.random.default_rng(9)
    a, b = rng.uniform(0.8, 1.8, 25), rng.normal(0, 1, 25)
    theta = rng.normal(-0.4, 0.8, 4000)
    p = 1 / (1 + np.exp(-a * (theta[:, None] - b)))
    x = (rng.random(p.shape) < p).astype(float)
    cal = calibrate(x, "2pl", D=1.0, anchors={f"item{j + 1}": (a[j], b[j], 0.0) for j in range(25)})
    assert cal.fixed.all() and cal.converged
    assert cal.latent_mean == pytest.approx(theta.mean(), abs=0.05)
    assert cal.latent_sd == pytest.approx(theta.std(), abs=0.05)


def test_conditional_information_by_the_difference_identity_equals_second_order_esfs():
    # π_{jl|r} from first-order quantities (ε_l π_j − ε_j π_l)/(ε_l − ε_j) against ε_j ε_l γ^{(j,l)}_{r−2}/γ_r
    # from the summation algorithm's second-order ESFs (hand-checked above); items 2 and 5 share a difficulty
    # (the identity's 0/0: the exact ESFs take over), item 6 is not answered in this pattern
    from psychometrics.irt.rasch_cml import _information_one
    b = np.array([-1.2, 0.3, 0.8, -0.4, 1.5, 0.8, 0.1, -2.0])
    masks = np.ones((1, 8))
    masks[0, 6] = 0.0
    counts = np.arange(9, dtype=float)[None, :] + 1.0
    counts[0, 8] = 0.0                                  # 7 items answered: no score of 8
    eps = np.exp(-b)[None, :] * masks
    gamma, _, gamma1, gamma2 = esf(eps, order=2)
    denom = np.where(gamma[0, 1:] > 0, gamma[0, 1:], 1.0)
    pi = eps[0][:, None] * gamma1[0, :, :-1] / denom[None, :]
    pij = np.zeros((8, 8, 8))
    pij[..., 1:] = eps[0][:, None, None] * eps[0][None, :, None] * gamma2[0, :, :, :-2] / denom[None, None, 1:]
    pij[np.arange(8), np.arange(8)] = pi
    reference = np.einsum("r,jlr->jl", counts[0, 1:], pij - pi[:, None, :] * pi[None, :, :])
    np.testing.assert_allclose(_information_one(b, masks, counts), reference, rtol=1e-10, atol=1e-12)
