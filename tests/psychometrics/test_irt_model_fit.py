"""M2, RMSEA2, SRMSR (psychometrics/irt/model_fit.py).

Sources: R mirt's tests (tests/testthat/test-01-dich.R): LSAT7 2PL ``M2(mod)`` = 11.93841 with df 5; LSAT6
common-slope model (``CONSTRAIN = (1-5, a1)``, our ``1pl``) 5.292566, df 9; LSAT6 Rasch 5.291576, df 9 (both
with mirt's 61 equally spaced nodes, our default). Brute force: Γ₂ against T (diag π − π πᵀ) Tᵀ over all 2^k
response patterns (T: which margins each pattern counts in; Maydeu-Olivares & Joe 2005, eq. 5). Recovery:
where the model holds, M2 follows χ²(df) (Maydeu-Olivares & Joe 2006), so its mean over replications ≈ df.
"""
import itertools
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from psychometrics.irt.estimation import calibrate
from psychometrics.irt.model_fit import _gamma, _irf, _pairs, m2
from psychometrics.irt.quadrature import make_quadrature
from psychometrics.simulate import simulate_items, simulate_responses

REF = Path(__file__).resolve().parents[2] / ".." / "shared" / "reference-data"


def test_gamma_matches_full_pattern_enumeration():
    a = np.array([0.8, 1.2, 1.5, 0.6])
    b = np.array([-0.5, 0.0, 0.7, 1.2])
    c = np.array([0.0, 0.1, 0.0, 0.2])
    quad = make_quadrature()
    theta, w = quad.grid_for(0.0, 1.0)
    p = _irf(theta, a, b, c, 1.0)
    first, second = _pairs(4)
    gamma, pi = _gamma(p, w, first, second)
    patterns = np.array(list(itertools.product([0, 1], repeat=4)), dtype=float)
    prob = np.prod(np.where(patterns[:, :, None] == 1, p[None], 1 - p[None]), axis=1) @ w
    T = (patterns[:, first] * patterns[:, second]).T              # (n_margins, 16)
    np.testing.assert_allclose(pi, T @ prob, atol=1e-12)
    full = np.diag(prob) - np.outer(prob, prob)
    np.testing.assert_allclose(gamma, T @ full @ T.T, atol=1e-12)


def test_m2_is_chi_square_where_the_model_holds():
    rng = np.random.default_rng(5)
    items = simulate_items(7, rng, model="2pl")
    stats_ = []
    for _ in range(40):
        theta = rng.normal(0, 1, 800)
        x = simulate_responses(theta, items.a, items.b, rng=rng)
        fit = m2(x, calibrate(x, "2pl", standard_errors=False))
        stats_.append(fit.m2)
    df = 7 * 8 // 2 - 14
    assert fit.df == df
    # mean of 40 χ²(14) draws: 14 ± 3 × √(28/40)
    assert abs(np.mean(stats_) - df) < 3 * np.sqrt(2 * df / 40)
    assert fit.srmsr < 0.05 and fit.rmsea < 0.05


def test_m2_detects_a_misspecified_model():
    rng = np.random.default_rng(6)
    a = np.array([0.4, 0.6, 2.5, 2.5, 0.5, 2.0])
    b = np.linspace(-1, 1, 6)
    x = simulate_responses(rng.normal(0, 1, 3000), a, b, rng=rng)
    fit = m2(x, calibrate(x, "rasch", standard_errors=False))
    assert fit.p_value < 1e-6 and fit.rmsea > 0.05


@pytest.mark.skipif(not REF.exists(), reason="../shared/reference-data is not present")
@pytest.mark.parametrize("name, model, value, df, tol", [
    ("lsat7", "2pl", 11.93841, 5, 0.01),
    ("lsat6", "1pl", 5.292566, 9, 0.005),
    ("lsat6", "rasch", 5.291576, 9, 0.005),
])
def test_m2_matches_mirt(name, model, value, df, tol):
    x = pd.read_csv(REF / f"{name}.csv").to_numpy(float)
    fit = m2(x, calibrate(x, model))
    assert fit.m2 == pytest.approx(value, abs=tol)
    assert fit.df == df
    assert 0 <= fit.rmsea < 0.05 and 0 < fit.srmsr < 0.05


def test_calibration_json_reports_overall_fit():
    import json

    from workflows.calibration import calibrate_responses
    rng = np.random.default_rng(8)
    items = simulate_items(8, rng, model="2pl")
    x = simulate_responses(rng.normal(0, 1, 600), items.a, items.b, rng=rng)
    report = calibrate_responses(x, [f"I{j}" for j in range(8)], "2pl")
    summary = json.loads(json.dumps(report.summary(), default=float))
    assert summary["m2_df"] == 36 - 16 and summary["m2"] > 0
    assert {"rmsea2", "srmsr", "m2_p_value"} <= set(summary)
    assert 0 < summary["empirical_reliability_summed_score_eap"] <= summary["empirical_reliability_eap"] + 0.01
