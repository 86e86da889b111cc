"""θ scoring: EAP/MAP/MLE/WLE, Lord–Wingersky, TCC inversion — against brute force, girth and hand work."""
import itertools
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from certbank_core.errors import InputError
from psychometrics.irt import girth_adapter, models, scoring
from psychometrics.irt.quadrature import make_quadrature
from psychometrics.simulate import simulate_dataset

A = np.array([1.2, 0.8, 1.5, 1.0])
B = np.array([-1.0, 0.0, 0.5, 1.2])
C = np.array([0.2, 0.0, 0.25, 0.1])


def all_patterns(n):
    return np.array(list(itertools.product([0, 1], repeat=n)), dtype=float)


def brute_force_likelihood(pattern, theta, a, b, c):
    p = models.probability(theta, a, b, c)
    return np.prod(np.where(pattern == 1, p, 1 - p), axis=1)


def test_lord_wingersky_equals_enumeration_of_all_patterns():
    theta = np.array([-2.0, -0.3, 0.0, 1.7])
    f = scoring.lord_wingersky(A, B, C, theta=theta)
    brute = np.zeros_like(f)
    for pat in all_patterns(4):
        brute[int(pat.sum())] += brute_force_likelihood(pat, theta, A, B, C)
    np.testing.assert_allclose(f, brute, atol=1e-14)
    np.testing.assert_allclose(f.sum(axis=0), 1.0)


def test_summed_score_eap_equals_pattern_posteriors_pooled():
    quad = make_quadrature()
    table = scoring.summed_score_eap(A, B, C, quadrature=quad)
    w = quad.weights_for()
    for s in range(5):
        pats = [p for p in all_patterns(4) if p.sum() == s]
        like = sum(brute_force_likelihood(p, quad.nodes, A, B, C) for p in pats) * w
        assert table.theta[s] == pytest.approx(like @ quad.nodes / like.sum(), abs=1e-12)
    assert np.all(np.diff(table.theta) > 0)
    assert table.expected_proportion.sum() == pytest.approx(1.0)


def test_eap_equals_direct_quadrature_and_handles_missing_and_empty_rows():
    pats = all_patterns(4)
    res = scoring.eap(pats, A, B, C)
    quad = make_quadrature()
    for i, pat in enumerate(pats):
        post = brute_force_likelihood(pat, quad.nodes, A, B, C) * quad.weights_for()
        mean = post @ quad.nodes / post.sum()
        assert res.theta[i] == pytest.approx(mean, abs=1e-5)
        assert res.se[i] == pytest.approx(math.sqrt(post @ (quad.nodes - mean) ** 2 / post.sum()), abs=1e-5)
    x = np.array([[1, np.nan, 0, np.nan], [np.nan] * 4])
    res = scoring.eap(x, A, B, C)
    sub = scoring.eap(np.array([[1.0, 0.0]]), A[[0, 2]], B[[0, 2]], C[[0, 2]])
    assert res.theta[0] == pytest.approx(sub.theta[0], abs=1e-5)
    assert res.theta[1] == pytest.approx(0.0, abs=1e-5) and res.se[1] == pytest.approx(1.0, abs=1e-5)
    assert res.n_answered.tolist() == [2, 0]


def test_eap_agrees_with_girth():
    sim = simulate_dataset(400, 15, np.random.default_rng(8), model="2pl")
    ours = scoring.eap(sim.responses, sim.items.a, sim.items.b).theta
    theirs = girth_adapter.eap_girth(sim.responses, sim.items.a, sim.items.b)
    np.testing.assert_allclose(ours, theirs, atol=1e-4)


def test_mle_solves_the_likelihood_equation_and_bounds_extremes():
    # 2PL: the MLE satisfies Σ a_j (y_j − P_j(θ)) = 0 (Baker & Kim 2004, eq. 5.x)
    pats = all_patterns(4)
    res = scoring.mle(pats, A, B)
    inner = ~res.bounded
    p = models.probability(res.theta[inner], A, B)
    np.testing.assert_allclose(((pats[inner] - p) * A).sum(axis=1), 0.0, atol=1e-6)
    assert res.bounded[0] and res.theta[0] == scoring.THETA_BOUNDS[0]
    assert res.bounded[-1] and res.theta[-1] == scoring.THETA_BOUNDS[1]
    assert inner.sum() == 14
    info = models.test_information(res.theta[inner], A, B)
    np.testing.assert_allclose(res.se[inner], 1 / np.sqrt(info), rtol=1e-10)


def test_rasch_mle_depends_only_on_raw_score_and_inverts_the_tcc():
    b = np.array([-1.0, -0.2, 0.4, 1.1, 1.5])
    pats = all_patterns(5)
    res = scoring.mle(pats, 1.0, b)
    raw = pats.sum(axis=1)
    for s in range(1, 5):
        assert np.ptp(res.theta[raw == s]) < 1e-6
        # Rasch: the MLE is where the TCC equals the raw score
        assert res.theta[raw == s][0] == pytest.approx(scoring.theta_from_raw_score([s], 1.0, b)[0], abs=1e-6)


def test_wle_is_finite_for_extremes_and_shrinks_the_mle_inward():
    pats = all_patterns(4)
    wle = scoring.wle(pats, A, B)
    mle = scoring.mle(pats, A, B)
    assert np.all(np.isfinite(wle.theta))
    assert scoring.THETA_BOUNDS[0] < wle.theta[0] < wle.theta[-1] < scoring.THETA_BOUNDS[1]
    inner = ~mle.bounded
    # Warm's correction pulls estimates toward the middle of the test
    assert np.all(np.abs(wle.theta[inner]) <= np.abs(mle.theta[inner]) + 0.05)


def test_map_with_wide_prior_approaches_mle():
    pats = all_patterns(4)[1:-1]
    mle = scoring.mle(pats, A, B)
    wide = scoring.map_estimate(pats, A, B, prior_sd=50.0)
    inner = ~mle.bounded
    np.testing.assert_allclose(wide.theta[inner], mle.theta[inner], atol=0.01)


def test_theta_from_raw_score_rule_below_sum_of_guessing():
    theta = scoring.theta_from_raw_score([0, 0.5, 0.55, 2, 4], A, B, C)
    assert theta[0] == theta[1] == scoring.THETA_BOUNDS[0]       # Σc = 0.55: no finite θ
    assert theta[2] == scoring.THETA_BOUNDS[0]
    assert theta[4] == scoring.THETA_BOUNDS[1]
    assert models.test_characteristic_curve([theta[3]], A, B, C)[0] == pytest.approx(2.0, abs=1e-9)


def test_bad_input_is_reported():
    with pytest.raises(InputError, match="not 0, 1 or blank"):
        scoring.eap(np.array([[0, 1, 2, 0]], dtype=float), A, B, C)
    with pytest.raises(InputError):
        scoring.score(np.zeros((2, 4)), A, B, method="bogus")
    with pytest.raises(InputError):
        scoring.eap(np.zeros((2, 3)), A, B, C)


@settings(max_examples=20, deadline=None)
@given(st.lists(st.sampled_from([0.0, 1.0, np.nan]), min_size=4, max_size=4))
def test_every_method_returns_finite_or_stated_results(row):
    x = np.array([row])
    for method in scoring.METHODS:
        res = scoring.score(x, A, B, C, method=method)
        if res.n_answered[0] == 0 and method in ("mle", "wle"):
            assert np.isnan(res.theta[0])          # stated: no responses, no likelihood
        else:
            assert np.isfinite(res.theta[0]) and np.isfinite(res.se[0])
            assert scoring.THETA_BOUNDS[0] - 1e-9 <= res.theta[0] <= scoring.THETA_BOUNDS[1] + 1e-9 or \
                method == "eap"


def test_mle_beyond_four_is_finite_unless_zero_or_perfect():
    # Hand-checkable: under the Rasch model the MLE solves Σ_j P_j(θ) = raw (Baker & Kim 2004, eq. 7.5);
    # five hard items, raw 4 of 5: the root, found here by bisection, lies beyond +4.
    b = np.array([1.5, 2.0, 2.5, 3.0, 3.5])
    pats = np.array([[1, 1, 1, 1, 0], [0, 1, 1, 1, 1], [1, 1, 1, 1, 1], [0, 0, 0, 0, 0]], dtype=float)
    res = scoring.mle(pats, np.ones(5), b)
    lo, hi = 0.0, 10.0
    for _ in range(80):
        mid = 0.5 * (lo + hi)
        lo, hi = (mid, hi) if models.probability([mid], 1.0, b).sum() < 4 else (lo, mid)
    assert lo > 4
    np.testing.assert_allclose(res.theta[:2], lo, atol=1e-6)
    assert not res.bounded[:2].any()
    assert res.bounded[2] and res.theta[2] == 4.0 and res.bounded[3] and res.theta[3] == -4.0


def test_mle_3pl_pattern_without_finite_maximum_is_bounded():
    # c > 0 and only the easiest item wrong after the hardest right: under a 3PL the likelihood of
    # "hard item right, easy item wrong" can keep rising as θ → −∞ (Samejima 1973); it is held at −4.
    a, b, c = np.array([2.0, 2.0]), np.array([-1.0, 3.0]), np.array([0.0, 0.3])
    res = scoring.mle(np.array([[0.0, 1.0]]), a, b, c)
    assert res.bounded[0] and res.theta[0] == -4.0


def _plain_score_function(theta, x, a, b, c, method):
    """S(θ) (+ J/(2I) for WLE) written out elementwise in float64: the reference for the Newton path."""
    m = ~np.isnan(x)
    y = np.nan_to_num(x)
    p = models.probability(theta, a, b, c)
    q = 1 - p
    s = (p - c) / (1 - c)
    dp = (1 - c) * a * s * (1 - s)
    d2p = dp * a * (1 - 2 * s)
    g = (m * (y - p) * dp / (p * q)).sum(axis=1)
    if method == "wle":
        info = (m * dp * dp / (p * q)).sum(axis=1)
        g = g + (m * dp * d2p / (p * q)).sum(axis=1) / (2 * info)
    return g


@pytest.mark.parametrize("method", ["mle", "wle"])
@pytest.mark.parametrize("model", ["2pl", "3pl"])
def test_newton_mle_wle_equal_bisection_on_the_score_function(method, model):
    # 3,000 simulated candidates on 40 items, 10% of cells missing, across several blocks of the Newton path
    sim = simulate_dataset(3000, 40, np.random.default_rng(11), model=model)
    x = sim.responses.copy()
    x[np.random.default_rng(2).random(x.shape) < 0.1] = np.nan
    it = sim.items
    c = it.c if model == "3pl" else np.zeros_like(it.b)
    old_block = scoring._BLOCK
    scoring._BLOCK = 700
    try:
        res = getattr(scoring, method)(x, it.a, it.b, c)
    finally:
        scoring._BLOCK = old_block
    inner = np.flatnonzero(~res.bounded & np.isfinite(res.theta) & (np.abs(res.theta) < 3.9))
    lo, hi = res.theta[inner] - 0.02, res.theta[inner] + 0.02
    g_lo = _plain_score_function(lo, x[inner], it.a, it.b, c, method)
    g_hi = _plain_score_function(hi, x[inner], it.a, it.b, c, method)
    assert np.all(g_lo > 0) and np.all(g_hi < 0)          # a root of the score function is bracketed
    for _ in range(60):
        mid = 0.5 * (lo + hi)
        up = _plain_score_function(mid, x[inner], it.a, it.b, c, method) > 0
        lo, hi = np.where(up, mid, lo), np.where(up, hi, mid)
    np.testing.assert_allclose(res.theta[inner], 0.5 * (lo + hi), atol=1e-9)
    m = ~np.isnan(x[inner])
    info = (m * models.item_information(res.theta[inner], it.a, it.b, c)).sum(axis=1)
    np.testing.assert_allclose(res.se[inner], 1 / np.sqrt(info), rtol=1e-9)


def test_eap_in_blocks_matches_one_block_and_int8_with_a_mask(monkeypatch):
    """Persons are scored block by block (memory flat in persons): the blocks change nothing, and 0/1 int8 codes
    with a not-presented mask give the float/NaN answer exactly."""
    from psychometrics.irt import scoring as sc
    from psychometrics.simulate import simulate_dataset

    sim = simulate_dataset(3000, 30, np.random.default_rng(8), model="3pl", missing_rate=0.1)
    x, it = sim.responses, sim.items
    whole = sc.eap(x, it.a, it.b, it.c)
    monkeypatch.setattr(sc, "_EAP_BLOCK", 256)
    blocked = sc.eap(x, it.a, it.b, it.c)
    missing = np.isnan(x)
    codes = sc.eap(np.nan_to_num(x).astype(np.int8), it.a, it.b, it.c, missing=missing)
    for other in (blocked, codes):
        np.testing.assert_allclose(other.theta, whole.theta, atol=1e-6)
        np.testing.assert_allclose(other.se, whole.se, atol=1e-6)
        np.testing.assert_array_equal(other.n_answered, whole.n_answered)
        np.testing.assert_array_equal(other.raw_score, whole.raw_score)
    with pytest.raises(InputError):
        sc.eap(np.full((3, 30), 2, dtype=np.int8), it.a, it.b)
