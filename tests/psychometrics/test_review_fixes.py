"""Regression tests for defects found in review (each failed before its fix)."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from certbank_core.errors import InputError
from psychometrics.dif.analysis import analyze_dif
from psychometrics.irt import fit
from psychometrics.irt.estimation import calibrate
from psychometrics.simulate import simulate_dataset
from psychometrics.standards import decision


# ---- S-X² when no candidate answered every item ------------------------------------------------------------
@pytest.fixture(scope="module")
def one_cell_missing_each():
    """2PL data where every candidate has exactly one item not presented (as in a matrix-sampled design)."""
    rng = np.random.default_rng(11)
    sim = simulate_dataset(1500, 12, rng, model="2pl")
    x = sim.responses.copy()
    x[np.arange(x.shape[0]), rng.integers(0, x.shape[1], x.shape[0])] = np.nan
    return x, calibrate(x, "2pl")


def test_s_x2_without_complete_cases_says_so_instead_of_silent_nan(one_cell_missing_each):
    x, cal = one_cell_missing_each
    res = fit.item_fit(x, cal)
    frame = res.to_frame()
    # S-X² cannot be computed here; that must be stated, never a silent NaN with a negative df
    assert frame["s_x2"].isna().all()
    assert not (frame["df"] < 0).any()
    assert (frame["n_used"] == 0).all()
    assert any("S-X²" in w and "every item" in w for w in res.warnings)
    # the other fit statistics still use every response
    assert frame["infit"].notna().all() and frame["outfit"].notna().all()


def test_s_x2_reports_candidates_left_out():
    rng = np.random.default_rng(12)
    sim = simulate_dataset(800, 10, rng, model="2pl")
    x = sim.responses.copy()
    x[:100, 0] = np.nan            # 100 candidates lack item 1: S-X² uses the other 700
    cal = calibrate(x, "2pl")
    res = fit.item_fit(x, cal)
    assert res.to_frame()["n_used"].max() <= 700
    assert any("700 of 800" in w for w in res.warnings)


# ---- DIF: pretest items stay out of the matching score ---------------------------------------------------------
def test_dif_matching_score_leaves_out_pretest_items():
    rng = np.random.default_rng(13)
    n, k = 3000, 12
    theta = rng.normal(0, 1, n)
    focal = rng.random(n) < 0.4
    b = rng.normal(0, 1, k)
    p = 1 / (1 + np.exp(-(theta[:, None] - b)))
    x = (rng.random((n, k)) < p).astype(float)
    pretest = np.zeros(k, bool)
    pretest[[9, 10, 11]] = True
    ids = [f"i{j}" for j in range(k)]
    with_pre = analyze_dif(x, focal, ids, pretest=[ids[j] for j in np.flatnonzero(pretest)])
    # independent reference: the same analysis on the operational total (+ the studied item for pretest items)
    operational = np.nan_to_num(x[:, ~pretest]).sum(axis=1)
    for j in (0, 10):
        match = operational + (x[:, j] if pretest[j] else 0)
        # MH odds ratio by hand over the strata of that score
        num = den = 0.0
        for s in np.unique(match):
            m = match == s
            a_ = np.sum(m & ~focal & (x[:, j] == 1)); b_ = np.sum(m & ~focal & (x[:, j] == 0))
            c_ = np.sum(m & focal & (x[:, j] == 1)); d_ = np.sum(m & focal & (x[:, j] == 0))
            t = a_ + b_ + c_ + d_
            if t >= 2:
                num += a_ * d_ / t
                den += b_ * c_ / t
        assert with_pre.alpha_mh[j] == pytest.approx(num / den, rel=1e-12)
    assert not with_pre.in_anchor[pretest].any() and with_pre.in_anchor[~pretest].all()
    # purification never brings a pretest item into the anchor
    purified = analyze_dif(x, focal, ids, pretest=[ids[j] for j in np.flatnonzero(pretest)], purify=True)
    assert not purified.in_anchor[pretest].any()


def test_dif_unknown_pretest_item_is_an_input_error():
    x = np.array([[1, 0], [0, 1], [1, 1], [0, 0]], float)
    with pytest.raises(InputError, match="zz"):
        analyze_dif(x, np.array([True, False, True, False]), ["a", "b"], pretest=["zz"])


# ---- decision indices: a cut outside the score range ---------------------------------------------------------
@pytest.mark.parametrize("cut", [-1, 41, 55])
def test_decision_indices_reject_a_cut_outside_the_score_range(cut):
    rng = np.random.default_rng(14)
    s = simulate_dataset(300, 40, rng).responses.sum(axis=1)
    for call in (lambda: decision.huynh(s, 40, cut), lambda: decision.subkoviak(s, 40, cut, 0.8),
                 lambda: decision.livingston_lewis(s, 40, cut, 0.8), lambda: decision.decision_summary(s, 40, cut)):
        with pytest.raises(InputError, match="outside the score range"):
            call()


def test_decision_indices_at_the_extreme_cuts_inside_the_range():
    rng = np.random.default_rng(15)
    s = simulate_dataset(300, 40, rng).responses.sum(axis=1)
    everyone = decision.huynh(s, 40, 0)      # cut 0: everyone passes, both times, truly
    assert everyone.pass_rate == pytest.approx(1.0) and everyone.consistency == pytest.approx(1.0)
    top = decision.huynh(s, 40, 40)          # only a perfect score passes
    assert 0 <= top.pass_rate < 0.01


def test_dif_study_of_a_bank_form_matches_on_the_operational_items_only(tmp_path):
    """The form's pretest items reach the DIF matching score through ``dif_study`` too (a stand-in bank)."""
    from types import SimpleNamespace

    from workflows.dif import dif_study

    rng = np.random.default_rng(16)
    n, k = 400, 6
    ids = [f"PSS-{j + 1:04d}" for j in range(k)]
    theta = rng.normal(0, 1, n)
    x = (rng.random((n, k)) < 1 / (1 + np.exp(-(theta[:, None] - rng.normal(0, 1, k))))).astype(int)
    key = {i: "A" for i in ids}
    labels = np.where(x == 1, "A", "B")
    frame = pd.DataFrame(labels, columns=ids)
    frame.insert(0, "language", np.where(rng.random(n) < 0.5, "es", "en"))
    frame.insert(0, "candidate_id", [f"C{i:04d}" for i in range(n)])
    path = tmp_path / "responses.csv"
    frame.to_csv(path, index=False)
    items = tuple(SimpleNamespace(position=j + 1, item_id=i, version=1, is_pretest=j >= 4) for j, i in enumerate(ids))
    bank = SimpleNamespace(form_key=lambda f: key, form_options=lambda f: {i: ("A", "B", "C", "D") for i in ids},
                           item_texts=lambda item_ids: pd.DataFrame({"item_id": list(item_ids)}),
                           get_form=lambda f: SimpleNamespace(items=items))
    study = dif_study(bank, path, tmp_path / "dif.csv", form_id="F1")
    assert list(study.result.in_anchor) == [True] * 4 + [False] * 2


def test_calibration_outputs_carry_the_s_x2_warning(one_cell_missing_each, tmp_path):
    """calibration.json and the CLI warnings say why S-X² is blank (not only the library result)."""
    import json

    from workflows.calibration import CalibrationRun, calibrate_responses

    x, _ = one_cell_missing_each
    report = calibrate_responses(x, [f"i{j}" for j in range(x.shape[1])], "2pl")
    run = CalibrationRun(report)
    assert any("S-X²" in w for w in run.warnings)
    run.write(tmp_path / "params.csv")
    summary = json.loads((tmp_path / "calibration.json").read_text())
    assert any("S-X²" in w for w in summary["warnings"])


# ---- linking: blank guessing parameters (2PL files) ------------------------------------------------------------
@pytest.mark.parametrize("method", ["haebara", "stocking-lord"])
def test_characteristic_curve_linking_with_blank_c_recovers_known_constants(method):
    """A 2PL parameter file with an empty c column: the curve methods must still find A, B (they silently
    returned the mean/sigma start with criterion NaN)."""
    from psychometrics.irt import linking

    rng = np.random.default_rng(17)
    a, b = rng.lognormal(0, 0.25, 12), rng.normal(0, 1, 12)
    b[0] += 0.8  # make mean/sigma differ from the truth-free curve fit start only through the data
    ids = [f"i{j}" for j in range(12)]
    A, B = 1.25, -0.35
    bank = pd.DataFrame({"item_id": ids, "a": a, "b": b, "c": np.nan})
    # perturb the new calibration so mean/sigma and the curve methods give different answers
    new = pd.DataFrame({"item_id": ids, "a": a * A * rng.lognormal(0, 0.1, 12),
                        "b": (b - B) / A + rng.normal(0, 0.1, 12), "c": np.nan})
    got = linking.link(new, bank, method)
    zero_c = linking.link(new.assign(c=0.0), bank.assign(c=0.0), method)
    assert np.isfinite(got.criterion)
    assert (got.A, got.B) == pytest.approx((zero_c.A, zero_c.B), abs=1e-6)
    ms = linking.link(new, bank, "mean-sigma")
    assert (got.A, got.B) != pytest.approx((ms.A, ms.B), abs=1e-6)
    assert got.A == pytest.approx(A, abs=0.15) and got.B == pytest.approx(B, abs=0.15)


def test_linking_rejects_missing_slopes_or_difficulties():
    from psychometrics.irt import linking

    ids = ["i0", "i1", "i2"]
    bank = pd.DataFrame({"item_id": ids, "a": [1.0, 1.2, 0.8], "b": [-1.0, 0.0, 1.0]})
    new = pd.DataFrame({"item_id": ids, "a": [1.0, np.nan, 0.8], "b": [-1.0, 0.1, 1.0]})
    with pytest.raises(InputError, match="i1"):
        linking.link(new, bank, "stocking-lord")


def test_fractional_cut_passes_at_the_next_whole_score_in_every_index():
    """raw ≥ 20.4 means raw ≥ 21 (as Livingston–Lewis and impact do); Huynh and Subkoviak truncated to 20."""
    rng = np.random.default_rng(18)
    s = simulate_dataset(400, 40, rng).responses.sum(axis=1)
    assert decision.huynh(s, 40, 20.4).pass_rate == pytest.approx(decision.huynh(s, 40, 21).pass_rate, abs=1e-3)
    assert decision.subkoviak(s, 40, 20.4, 0.8).pass_rate == pytest.approx(
        decision.subkoviak(s, 40, 21, 0.8).pass_rate)


def test_lee_fractional_cut_matches_the_next_whole_score():
    from psychometrics.irt.equating import ItemParameters

    rng = np.random.default_rng(19)
    params = ItemParameters.from_arrays(rng.lognormal(0, 0.25, 20), rng.normal(0, 1, 20))
    frac = decision.lee_classification(params, 10.3, theta_cut=0.0)
    whole = decision.lee_classification(params, 11, theta_cut=0.0)
    assert frac.accuracy == pytest.approx(whole.accuracy) and frac.consistency == pytest.approx(whole.consistency)


# ---- equating: degenerate score distributions give a sentence, not a ZeroDivisionError ---------------------------
def test_equating_degenerate_distributions_are_input_errors():
    from psychometrics import equating

    spread = np.array([1, 2, 3, 2, 1.0])
    constant = np.array([0, 0, 5, 0, 0.0])
    with pytest.raises(InputError, match="no spread"):
        equating.linear_equating(constant, spread)
    for fn in (equating.mean_equating, equating.linear_equating, equating.equipercentile_equating):
        with pytest.raises(InputError, match="no scores"):
            fn(spread, np.zeros(5))
