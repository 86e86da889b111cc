"""Log-linear presmoothing and bootstrap SEs of equating.

Sources: the moment-preservation property of the log-linear ML fit (Holland & Thayer 2000, sec. 2: the first
C moments of the fitted distribution equal the observed ones — exact, checked to 1e-8); AIC as defined there;
bootstrap SEs against the analytic normal-theory SE of linear equating (Kolen & Brennan 2014, eq. 7.23;
Braun & Holland 1982) on simulated normal-like scores (recovery, within 10 %); the short-anchor rule of
K&B sec. 8.1 (hand-worked cases).
"""
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from psychometrics.equating.classical import (NeatData, equipercentile_equating, frequencies,
                                              frequency_estimation_equating, linear_equating, tucker_equating)
from psychometrics.equating.smoothing import (choose_degree, loglinear_smooth, loglinear_smooth_bivariate,
                                              parse_smoothing, smooth_neat)
from psychometrics.equating.standard_errors import (bootstrap_se_neat, bootstrap_se_random_groups,
                                                    short_anchor_warning)

REF = Path(__file__).resolve().parents[2] / ".." / "shared" / "reference-data"


def _moments(f, c):
    x = np.arange(f.size, dtype=float)
    return np.array([f @ x ** k for k in range(c + 1)])


@pytest.fixture(scope="module")
def counts():
    rng = np.random.default_rng(3)
    scores = np.clip(np.round(rng.beta(5, 3, 1500) * 40), 0, 40).astype(int)
    return frequencies(scores, 40)


@pytest.mark.parametrize("c", [1, 2, 3, 4, 6])
def test_loglinear_keeps_the_first_c_moments(counts, c):
    fit = loglinear_smooth(counts, c)
    np.testing.assert_allclose(_moments(fit.fitted, c), _moments(counts, c), rtol=1e-9)
    assert np.all(fit.fitted > 0)
    # the (c+1)-th moment is not kept in general
    assert not np.isclose(_moments(fit.fitted, c + 1)[-1], _moments(counts, c + 1)[-1], rtol=1e-9)


def test_aic_choice_is_the_minimum(counts):
    best = choose_degree(counts, max_degree=8)
    aics = [loglinear_smooth(counts, c).aic for c in range(1, 9)]
    assert best.aic == pytest.approx(min(aics))
    assert best.degree == 1 + int(np.argmin(aics))


def test_bivariate_keeps_margins_and_covariance():
    rng = np.random.default_rng(4)
    theta = rng.normal(size=2000)
    x = np.clip(np.round(18 + 5 * theta + rng.normal(0, 2.5, 2000)), 0, 36).astype(int)
    v = np.clip(np.round(6 + 2 * theta + rng.normal(0, 1.2, 2000)), 0, 12).astype(int)
    t = np.zeros((37, 13))
    np.add.at(t, (x, v), 1)
    fit = loglinear_smooth_bivariate(t, 4, 3, cross=1)
    xs, vs = np.arange(37.0), np.arange(13.0)
    np.testing.assert_allclose(_moments(fit.fitted.sum(axis=1), 4), _moments(t.sum(axis=1), 4), rtol=1e-9)
    np.testing.assert_allclose(_moments(fit.fitted.sum(axis=0), 3), _moments(t.sum(axis=0), 3), rtol=1e-9)
    assert xs @ fit.fitted @ vs == pytest.approx(xs @ t @ vs, rel=1e-9)


def test_parse_smoothing():
    assert parse_smoothing("none") is None and parse_smoothing(None) is None
    assert parse_smoothing("loglinear") == ("loglinear", None)
    assert parse_smoothing("loglinear:4") == ("loglinear", 4)


def test_bootstrap_se_matches_analytic_linear_se():
    rng = np.random.default_rng(11)
    x = np.clip(np.round(rng.normal(20, 5, 3000)), 0, 40).astype(int)
    y = np.clip(np.round(rng.normal(22, 6, 3000)), 0, 40).astype(int)
    fx, fy = frequencies(x, 40), frequencies(y, 40)
    analytic = linear_equating(fx, fy).se
    boot = bootstrap_se_random_groups(linear_equating, fx, fy, n_boot=400, rng=np.random.default_rng(1))
    inner = slice(10, 31)                     # within 2 SD of the mean, where the data are
    np.testing.assert_allclose(boot[inner], analytic[inner], rtol=0.10)
    again = bootstrap_se_random_groups(linear_equating, fx, fy, n_boot=400, rng=np.random.default_rng(1))
    np.testing.assert_array_equal(boot, again)          # seeded


def test_smoothed_equipercentile_is_close_and_smoother(counts):
    rng = np.random.default_rng(9)
    other = frequencies(np.clip(np.round(rng.beta(4, 3, 1500) * 40), 0, 40).astype(int), 40)
    raw = equipercentile_equating(counts, other)
    smooth = equipercentile_equating(choose_degree(counts).fitted, choose_degree(other).fitted,
                                     n_x=counts.sum(), n_y=other.sum())
    inner = slice(12, 38)
    assert np.max(np.abs(raw.equated[inner] - smooth.equated[inner])) < 1.0
    rough = lambda e: np.sum(np.diff(e[inner], 2) ** 2)  # noqa: E731
    assert rough(smooth.equated) < rough(raw.equated)


def test_short_anchor_rule():
    assert short_anchor_warning(9, 40) is not None          # under 10 items
    assert short_anchor_warning(12, 100) is not None        # under 20 %
    assert short_anchor_warning(12, 60) is None


@pytest.mark.skipif(not REF.exists(), reason="../shared/reference-data is not present")
def test_kbneat_smoothed_frequency_estimation_and_bootstrap():
    x = pd.read_csv(REF / "kbneat_x.csv")
    y = pd.read_csv(REF / "kbneat_y.csv")
    data = NeatData.from_scores(x.total, x.anchor, y.total, y.anchor, 36, 36, 12)
    smoothed = smooth_neat(data, ("loglinear", 4))
    np.testing.assert_allclose(smoothed.joint1.sum(), data.joint1.sum(), rtol=1e-10)
    raw = frequency_estimation_equating(data, w1=1.0)
    sm = frequency_estimation_equating(smoothed, w1=1.0)
    assert np.max(np.abs(raw.equated[5:32] - sm.equated[5:32])) < 0.5
    se = bootstrap_se_neat(lambda d: tucker_equating(d, w1=1.0), data, n_boot=100,
                           rng=np.random.default_rng(2))
    assert np.all(np.isfinite(se)) and 0.05 < np.median(se) < 1.0


def test_equate_cli_smoothing_and_bootstrap(tmp_path):
    from click.testing import CliRunner

    from cli import main
    rng = np.random.default_rng(21)
    for name, mu in (("x", 20), ("y", 22)):
        t = np.clip(np.round(rng.normal(mu, 5, 800)), 0, 36).astype(int)
        v = np.clip(np.round(t / 3 + rng.normal(0, 1, 800)), 0, 12).astype(int)
        pd.DataFrame({"total": t, "anchor": v}).to_csv(tmp_path / f"{name}.csv", index=False)
    out = tmp_path / "conc.csv"
    res = CliRunner().invoke(main, ["equate", "--method", "frequency_estimation", "--x", str(tmp_path / "x.csv"),
                                    "--y", str(tmp_path / "y.csv"), "--max-x", "36", "--max-y", "36",
                                    "--max-anchor", "12", "--smoothing", "loglinear:3", "--bootstrap", "30",
                                    "--out", str(out)])
    assert res.exit_code == 0, res.output
    conc = pd.read_csv(out)
    assert conc["se"].iloc[10:30].notna().all() and (conc["se"].iloc[10:30] > 0).all()
