"""Agreement with published results on the LSAT data (Bock & Lieberman 1970; Bartholomew 1998).

The pattern-frequency tables are public (Bock & Lieberman 1970, table 1; distributed as LSAT7 with R mirt
and as LSAT with R ltm) and are typed in here as facts. The published estimates are typed in with sources:

- LSAT7 2PL, R mirt 1.45 defaults (61 rectangular nodes on [-6, 6], slope–intercept a1, d): the output of
  ``PLCI.mirt(mirt(expand.table(LSAT7), 1))`` in the mirt reference manual (a1, d for items 1–4) and the
  expected values of mirt's test ``test-02-confmirtOne`` (item 5: a1 0.7358, d 1.8545);
  log-likelihood −2658.805 (mirt ``imputeMissing`` reference page).
- LSAT6 2PL, R ltm 1.2 ``ltm(LSAT ~ z1, IRT.param = TRUE)`` (21 Gauss–Hermite points): log-likelihood
  −2466.653, difficulties, discriminations and their standard errors, and the empirical-Bayes (posterior
  mode) scores of the response patterns, as printed by ``summary()`` and ``factor.scores()``.
"""
import numpy as np
import pytest

from psychometrics.irt.estimation import calibrate
from psychometrics.irt.quadrature import make_quadrature
from psychometrics.irt import scoring

# (pattern of items 1-5, frequency); Bock & Lieberman (1970), LSAT section 7, N = 1000
LSAT7 = """00000 12;00001 19;00010 1;00011 7;00100 3;00101 19;00110 3;00111 17;01000 10;01001 5;01010 3;
01011 7;01100 7;01101 23;01110 8;01111 28;10000 7;10001 39;10010 11;10011 34;10100 14;10101 51;10110 15;
10111 90;11000 6;11001 25;11010 7;11011 35;11100 18;11101 136;11110 32;11111 308"""
# LSAT section 6 as shipped with ltm (observed patterns only), N = 1000
LSAT6 = """00000 3;00001 6;00010 2;00011 11;00100 1;00101 1;00110 3;00111 4;01000 1;01001 8;01011 16;01101 3;
01110 2;01111 15;10000 10;10001 29;10010 14;10011 81;10100 3;10101 28;10110 15;10111 80;11000 16;11001 56;
11010 21;11011 173;11100 11;11101 61;11110 28;11111 298"""

MIRT_LSAT7_A = [0.9879254, 1.0808847, 1.7058006, 0.7651853, 0.7358]
MIRT_LSAT7_D = [1.8560605, 0.8079786, 1.8042187, 0.4859966, 1.8545]
MIRT_LSAT7_LOGLIK = -2658.805

LTM_LSAT6_LOGLIK = -2466.653
LTM_LSAT6_B = [-3.3597, -1.3696, -0.2799, -1.8659, -3.1236]
LTM_LSAT6_A = [0.8254, 0.7229, 0.8905, 0.6886, 0.6575]
LTM_LSAT6_SE_B = [0.8669, 0.3073, 0.0997, 0.4341, 0.8700]
LTM_LSAT6_SE_A = [0.2581, 0.1867, 0.2326, 0.1852, 0.2100]
# factor.scores(): patterns 00000, 00001, 11111 -> (z1, se.z1)
LTM_LSAT6_EB = {"00000": (-1.895, 0.795), "00001": (-1.479, 0.796), "11111": (0.606, 0.855)}


def patterns(table: str):
    rows = [r.split() for r in table.replace("\n", "").split(";")]
    pats = np.array([[int(ch) for ch in p] for p, _ in rows], dtype=float)
    freq = np.array([int(f) for _, f in rows])
    return pats, freq


def expand(table: str) -> np.ndarray:
    pats, freq = patterns(table)
    return np.repeat(pats, freq, axis=0)


def test_tables_have_1000_persons():
    assert patterns(LSAT7)[1].sum() == 1000
    assert patterns(LSAT6)[1].sum() == 1000


def test_lsat7_2pl_matches_mirt():
    cal = calibrate(expand(LSAT7), "2pl")
    assert cal.converged
    assert cal.log_likelihood == pytest.approx(MIRT_LSAT7_LOGLIK, abs=0.01)
    # mirt stops at a 1e-4 parameter change: agreement to 0.005 in a1 and d
    np.testing.assert_allclose(cal.a, MIRT_LSAT7_A, atol=0.005)
    np.testing.assert_allclose(-cal.a * cal.b, MIRT_LSAT7_D, atol=0.005)


def test_lsat6_2pl_matches_ltm_with_gauss_hermite_21():
    cal = calibrate(expand(LSAT6), "2pl", quadrature=make_quadrature(21, "gauss-hermite"), tol=1e-6,
                    dtype=np.float64)
    assert cal.log_likelihood == pytest.approx(LTM_LSAT6_LOGLIK, abs=0.01)
    # ltm's BFGS stopped at max|grad| 0.024, hence 0.005 on b (item 5: b is flat in the likelihood)
    np.testing.assert_allclose(cal.b, LTM_LSAT6_B, atol=0.005)
    np.testing.assert_allclose(cal.a, LTM_LSAT6_A, atol=0.002)
    # ltm inverts a numerical Hessian of the same likelihood; ours is the exact observed information
    # (printed to 4 decimals): within 0.5 % (the cross-product approximation was within 5 % only)
    np.testing.assert_allclose(cal.se_b, LTM_LSAT6_SE_B, rtol=0.005)
    np.testing.assert_allclose(cal.se_a, LTM_LSAT6_SE_A, rtol=0.005)


def test_lsat6_map_scores_match_ltm_empirical_bayes():
    a, b = np.array(LTM_LSAT6_A), np.array(LTM_LSAT6_B)
    pats = np.array([[int(ch) for ch in p] for p in LTM_LSAT6_EB], dtype=float)
    res = scoring.map_estimate(pats, a, b)
    expected = np.array(list(LTM_LSAT6_EB.values()))
    np.testing.assert_allclose(res.theta, expected[:, 0], atol=0.002)
    np.testing.assert_allclose(res.se, expected[:, 1], atol=0.002)


def test_pattern_collapse_changes_nothing():
    x = expand(LSAT7)
    collapsed = calibrate(x, "2pl", tol=1e-6, dtype=np.float64)
    from psychometrics.irt import estimation
    data = estimation.prepare_data(x, collapse=False)
    assert data.freq.size == 1000
    assert estimation.prepare_data(x).freq.size == 32
    assert collapsed.log_likelihood == pytest.approx(
        estimation.marginal_log_likelihood(x, collapsed.a, collapsed.b), abs=1e-6)


# LSAT7 3PL without a prior on c. Reference: the maximum of our own float64 ``marginal_log_likelihood`` found
# independently of the EM by L-BFGS-B (scipy) over (a, d, c) with c boxed to [0, 0.9], started at R mirt's
# published 3PL estimates (mirt 1.x, ``mirt(expand.table(LSAT7), 1, itemtype = '3PL', TOL = 1e-4)``, as
# quoted in jMetrik's test suite: a 1.010 1.947 1.684 0.737 0.771, b −1.837 −0.042 −1.047 −0.648 −2.393,
# c .008 .298 .014 .003 .019; log-likelihood there −2658.0811, short of the maximum). The maximum:
# log-likelihood −2658.0543, c = 0 for items 1, 3, 4, 5, b = −1.8527 −0.0420 −1.0691 −0.6552 −2.4348.
LSAT7_3PL_MAX_LOGLIK = -2658.0543
LSAT7_3PL_MAX_B = [-1.8527, -0.0420, -1.0691, -0.6552, -2.4348]
MIRT_LSAT7_3PL = ([1.010, 1.947, 1.684, 0.737, 0.771], [-1.837, -0.042, -1.047, -0.648, -2.393],
                  [0.008, 0.298, 0.014, 0.003, 0.019])


def test_lsat7_3pl_without_prior_reaches_the_maximum():
    from psychometrics.irt.estimation import marginal_log_likelihood
    x = expand(LSAT7)
    cal = calibrate(x, "3pl", guessing_prior=None)
    assert cal.converged
    assert cal.log_likelihood == pytest.approx(LSAT7_3PL_MAX_LOGLIK, abs=0.01)
    # at least as high as at mirt's published estimates
    assert cal.log_likelihood > marginal_log_likelihood(x, *MIRT_LSAT7_3PL) + 0.02
    np.testing.assert_allclose(cal.b, LSAT7_3PL_MAX_B, atol=0.005)
    assert np.all(cal.c[[0, 2, 3, 4]] < 1e-4)          # on the boundary c = 0
    # ∂LL/∂d ≈ 0 at every item, by central differences of the float64 marginal likelihood (d = −a b);
    # before the projected M-step item 4 had −3.56 here
    h = 1e-4
    for j in range(5):
        d = -cal.a * cal.b
        lls = []
        for sign in (1, -1):
            dj = d.copy()
            dj[j] += sign * h
            lls.append(marginal_log_likelihood(x, cal.a, -dj / cal.a, cal.c))
        assert abs((lls[0] - lls[1]) / (2 * h)) < 0.05, j


def test_gauss_hermite_rescaled_for_a_latent_normal():
    # Gauss–Hermite for N(μ, σ²) is the standard rule at μ + σ x_k (Abramowitz & Stegun 25.4.46): exact for
    # polynomials of degree ≤ 2n − 1, e.g. E θ⁴ = μ⁴ + 6 μ² σ² + 3 σ⁴
    q = make_quadrature(11, "gauss-hermite")
    nodes, w = q.grid_for(0.5, 1.3)
    assert w @ nodes ** 4 == pytest.approx(0.5 ** 4 + 6 * 0.25 * 1.69 + 3 * 1.3 ** 4, rel=1e-12)


def test_rasch_with_free_sd_equals_1pl_on_gauss_hermite_nodes():
    # Rasch with θ ~ N(0, σ²) and the 1PL with common slope σ and θ ~ N(0, 1) are one model (z = σ x + d):
    # with the nodes rescaled, θ_k = σ x_k, their maxima coincide (under the old reweighting rule they did
    # not: 0.11 apart in log-likelihood on SAT12 with 21 points).
    q = make_quadrature(21, "gauss-hermite")
    x = expand(LSAT7)
    r = calibrate(x, "rasch", quadrature=q, dtype=np.float64, tol=1e-7)
    p = calibrate(x, "1pl", quadrature=q, dtype=np.float64, tol=1e-7)
    assert r.log_likelihood == pytest.approx(p.log_likelihood, abs=1e-6)
    assert r.latent_sd == pytest.approx(p.a[0], abs=1e-4)
    np.testing.assert_allclose(r.b, p.b * p.a[0], atol=1e-4)


def _numerical_hessian(f, v, h=1e-4):
    """Central second differences of f at v (Abramowitz & Stegun 25.3.26)."""
    n = v.size
    H = np.zeros((n, n))
    eye = np.eye(n) * h
    for i in range(n):
        for j in range(i, n):
            H[i, j] = H[j, i] = (f(v + eye[i] + eye[j]) - f(v + eye[i] - eye[j]) - f(v - eye[i] + eye[j])
                                 + f(v - eye[i] - eye[j])) / (4 * h * h)
    return H


@pytest.mark.parametrize("quad", [make_quadrature(), make_quadrature(21, "gauss-hermite")],
                         ids=["equal61", "gh21"])
def test_observed_information_ses_equal_the_numerical_hessian(quad):
    # Independent reference: the inverse negative Hessian of our float64 marginal_log_likelihood by central
    # differences, in the slope–intercept parameters (α, d) (Rasch: d and log σ). Louis' identity is exact:
    # agreement to 1e-3 relative (what remains is the differencing).
    from psychometrics.irt.estimation import marginal_log_likelihood as mll
    x = expand(LSAT7)
    cal = calibrate(x, "2pl", quadrature=quad, dtype=np.float64, tol=1e-7)
    v = np.r_[cal.a, -cal.a * cal.b]
    se = np.sqrt(np.diag(np.linalg.inv(-_numerical_hessian(lambda v: mll(x, v[:5], -v[5:] / v[:5],
                                                                             quadrature=quad), v))))
    np.testing.assert_allclose(cal.se_a, se[:5], rtol=1e-3)
    np.testing.assert_allclose(cal.se_d, se[5:], rtol=1e-3)
    r = calibrate(x, "rasch", quadrature=quad, dtype=np.float64, tol=1e-7)
    v = np.r_[-r.b, np.log(r.latent_sd)]
    se = np.sqrt(np.diag(np.linalg.inv(-_numerical_hessian(
        lambda v: mll(x, 1.0, -v[:5], quadrature=quad, sd=np.exp(v[5])), v))))
    np.testing.assert_allclose(r.se_b, se[:5], rtol=1e-3)


def test_observed_information_3pl_with_prior_and_fixed_anchors():
    from psychometrics.irt.estimation import marginal_log_likelihood as mll
    x = expand(LSAT7)
    cal = calibrate(x, "3pl", dtype=np.float64, tol=1e-7)
    pa, pb = cal.guessing_prior

    def log_post(v):
        c = 1 / (1 + np.exp(-v[10:]))
        return mll(x, v[:5], -v[5:10] / v[:5], c) + np.sum((pa - 1) * np.log(c) + (pb - 1) * np.log1p(-c))
    v = np.r_[cal.a, -cal.a * cal.b, np.log(cal.c / (1 - cal.c))]
    cov = np.linalg.inv(-_numerical_hessian(log_post, v))
    np.testing.assert_allclose(cal.se_a, np.sqrt(np.diag(cov))[:5], rtol=1e-3)
    c_se = cal.c * (1 - cal.c) * np.sqrt(np.diag(cov))[10:]
    np.testing.assert_allclose(cal.se_c, c_se, rtol=1e-3)
    # two anchors held fixed, latent mean and SD free
    anchors = {"item1": (0.99, -1.7, 0.0), "item2": (1.08, -0.55, 0.0)}
    fx = calibrate(x, "2pl", anchors=anchors, dtype=np.float64, tol=1e-7)
    a0, b0 = fx.a.copy(), fx.b.copy()

    def ll(v):
        a, b = a0.copy(), b0.copy()
        a[2:], b[2:] = v[:3], -v[3:6] / v[:3]
        return mll(x, a, b, mean=v[6], sd=np.exp(v[7]))
    v = np.r_[fx.a[2:], -fx.a[2:] * fx.b[2:], fx.latent_mean, np.log(fx.latent_sd)]
    se = np.sqrt(np.diag(np.linalg.inv(-_numerical_hessian(ll, v))))
    np.testing.assert_allclose(fx.se_a[2:], se[:3], rtol=1e-3)
    np.testing.assert_allclose(fx.se_d[2:], se[3:6], rtol=1e-3)
    assert np.isnan(fx.se_a[:2]).all()


def test_cross_product_ses_stay_available():
    x = expand(LSAT7)
    obs = calibrate(x, "2pl")
    xpd = calibrate(x, "2pl", se_method="xpd")
    assert "Louis" in obs.se_method and "XPD" in xpd.se_method
    np.testing.assert_allclose(xpd.se_a, obs.se_a, rtol=0.05)     # LSAT7: 5 items, the two agree closely
    with pytest.raises(Exception, match="standard-error method"):
        calibrate(x, "2pl", se_method="sandwich")


def test_rasch_with_latent_sd_fixed_at_one_against_direct_maximization():
    # Rasch, every slope 1 and θ ~ N(0, 1) (girth's rasch_mml, PyPI mirt's "1PL"): reference = the maximum of
    # our float64 marginal_log_likelihood over b by scipy's L-BFGS-B, and SEs by its numerical Hessian
    from scipy.optimize import minimize
    from psychometrics.irt.estimation import marginal_log_likelihood as mll
    x = expand(LSAT7)
    cal = calibrate(x, "rasch", latent_sd=1.0, dtype=np.float64, tol=1e-7)
    assert cal.latent_sd == 1.0 and cal.n_parameters == 5
    best = minimize(lambda b: -mll(x, 1.0, b), np.zeros(5), method="L-BFGS-B", options={"ftol": 1e-14, "gtol": 1e-9})
    assert cal.log_likelihood == pytest.approx(-best.fun, abs=1e-4)
    np.testing.assert_allclose(cal.b, best.x, atol=1e-3)
    se = np.sqrt(np.diag(np.linalg.inv(-_numerical_hessian(lambda b: mll(x, 1.0, b), cal.b))))
    np.testing.assert_allclose(cal.se_b, se, rtol=1e-3)
    with pytest.raises(Exception, match="fixed latent SD"):
        calibrate(x, "2pl", latent_sd=1.0)


def test_observed_information_is_the_same_a_block_of_persons_at_a_time(monkeypatch):
    # the person-score cross-products are summed over blocks of rows (memory: 576 MB → 32 MB at 100,000 ×
    # 120); with 256-row blocks, six of them here and the latent mean/SD free (anchors), the SEs the
    # numerical-Hessian tests above validate come out the same
    from psychometrics.irt import standard_errors
    from psychometrics.simulate import simulate_dataset
    sim = simulate_dataset(1500, 30, np.random.default_rng(13))
    anchors = {f"item{j + 1}": (sim.items.a[j], sim.items.b[j], 0.0) for j in range(5)}
    whole = calibrate(sim.responses, "2pl", anchors=anchors, dtype=np.float64)
    monkeypatch.setattr(standard_errors, "_SCORE_BLOCK_VALUES", 1)
    blocked = calibrate(sim.responses, "2pl", anchors=anchors, dtype=np.float64)
    for name in ("se_a", "se_b", "se_d"):
        np.testing.assert_allclose(getattr(blocked, name)[5:], getattr(whole, name)[5:], rtol=1e-10)
    assert np.isfinite(whole.se_b[5:]).all()


def test_covariance_entries_from_the_cholesky_factor_equal_the_inverse():
    # the delta method reads a few entries of info⁻¹: from V = U⁻¹ (info = UᵀU) they must equal the general
    # inverse's; a matrix that is not positive definite takes the general inverse; dropped rows are NaN
    from psychometrics.irt.standard_errors import _Covariance
    rng = np.random.default_rng(3)
    a = rng.normal(size=(40, 40))
    info = a @ a.T + 40 * np.eye(40)
    keep = np.ones(40, dtype=bool)
    keep[[3, 17]] = False
    reference = np.full((40, 40), np.nan)
    reference[np.ix_(keep, keep)] = np.linalg.inv(info[np.ix_(keep, keep)])
    cov = _Covariance(info, keep)
    assert cov.rows is not None
    i, j = rng.integers(0, 40, 200), rng.integers(0, 40, 200)
    np.testing.assert_allclose(cov[i, j], reference[i, j], rtol=1e-10, atol=1e-14)
    assert np.isnan(cov[np.array([3, 5]), np.array([5, 17])]).all()
    indefinite = np.diag([2.0, -1.0, 3.0]) + 0.1
    with pytest.raises(np.linalg.LinAlgError):  # a negative variance: no standard errors
        _Covariance(indefinite, np.ones(3, dtype=bool))
    flipped = np.array([[-1.0, 2.0], [2.0, -1.0]])  # indefinite, yet its inverse has a positive diagonal
    fallback = _Covariance(flipped, np.ones(2, dtype=bool))
    assert fallback.rows is None
    np.testing.assert_allclose(fallback[np.arange(2), np.arange(2)], np.diag(np.linalg.inv(flipped)))


@pytest.mark.parametrize("model", ["rasch", "2pl"])
def test_observed_information_factored_over_nodes_equals_the_node_by_node_sum(monkeypatch, model):
    # Rasch/1PL/2PL gradients factor (∂z/∂d = 1, ∂z/∂α = θ_k), so Louis' complete-data term is summed over
    # persons once per parameter pair instead of once per node: the same SEs, with anchors (latent free) too
    from psychometrics.irt import standard_errors
    from psychometrics.simulate import simulate_dataset
    sim = simulate_dataset(1200, 30, np.random.default_rng(17))
    for anchors in (None, {f"item{j + 1}": (sim.items.a[j], sim.items.b[j], 0.0) for j in range(4)}):
        fast = calibrate(sim.responses, model, anchors=anchors, dtype=np.float64)
        monkeypatch.setattr(standard_errors, "_SEPARABLE_PATH", False)
        slow = calibrate(sim.responses, model, anchors=anchors, dtype=np.float64)
        monkeypatch.setattr(standard_errors, "_SEPARABLE_PATH", True)
        for name in ("se_b", "se_d") if model == "rasch" else ("se_a", "se_b", "se_d"):
            got, ref = getattr(fast, name), getattr(slow, name)
            keep = np.isfinite(ref)
            assert keep.sum() >= 26 and np.array_equal(keep, np.isfinite(got))
            np.testing.assert_allclose(got[keep], ref[keep], rtol=1e-7)
