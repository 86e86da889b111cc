"""Anchor drift screening and calibration onto the bank scale, against hand-worked values and a known truth.

The recovery design (issue 13): a bank of 2PL items on the base-year scale θ ~ N(0, 1); a year-2 form of
60 items sharing 20 anchors with known bank values, taken by a population N(+0.4, 1). The free year-2
calibration standardizes θ, so the truth is θ_bank = 1 · θ_new + 0.4 (A = 1, B = 0.4); more exactly B and A
are the mean and SD of the simulated θ's, which is what the tight comparisons use.
"""
import dataclasses

import numpy as np
import pandas as pd
import pytest

from certbank_core.errors import EstimationError, InputError
from psychometrics.irt import drift
from psychometrics.irt.bank_scale import MIN_COMMON_ITEMS, calibrate_to_bank_scale
from psychometrics.irt.models import ItemParameters
from psychometrics.simulate import simulate_responses

N_ITEMS, N_ANCHORS, N_PERSONS, SHIFT = 60, 20, 2500, 0.4
PLANTED = 3          # the anchor whose b moves +1 logit in year 2 (PSS-0004)


def year2(seed, *, plant=None, plant_shift=1.0, n_persons=N_PERSONS, shift=SHIFT, model="2pl"):
    """Bank values of the 20 anchors, year-2 responses to the 60-item form, and the truth."""
    rng = np.random.default_rng(seed)
    a = rng.uniform(0.8, 2.0, N_ITEMS)
    b = rng.normal(0.0, 1.0, N_ITEMS)
    c = rng.uniform(0.1, 0.25, N_ITEMS) if model == "3pl" else np.zeros(N_ITEMS)
    ids = [f"PSS-{j + 1:04d}" for j in range(N_ITEMS)]
    bank = pd.DataFrame({"item_id": ids[:N_ANCHORS], "a": a[:N_ANCHORS], "b": b[:N_ANCHORS],
                         "c": c[:N_ANCHORS]})
    b_year2 = b.copy()
    if plant is not None:
        b_year2[np.atleast_1d(plant)] += plant_shift
    theta = rng.normal(shift, 1.0, n_persons)
    x = simulate_responses(theta, a, b_year2, c, rng=rng)
    return x, ids, bank, dict(a=a, b=b, c=c, theta=theta)


def rmse(x, y):
    return float(np.sqrt(np.mean((np.asarray(x) - np.asarray(y)) ** 2)))


# ---- hand-worked statistics ------------------------------------------------------------------------------


def test_robust_z_hand_worked():
    d = np.array([0.1, -0.2, 0.0, 0.3, 1.5])
    # median = 0.1; |d − 0.1| = .0 .3 .1 .2 1.4 → sorted .0 .1 .2 .3 1.4 → MAD = 0.2; robust SD = 1.4826 · 0.2
    z, med, sd = drift.robust_z(d)
    assert med == pytest.approx(0.1) and sd == pytest.approx(0.29652)
    np.testing.assert_allclose(z, (d - 0.1) / 0.29652)
    assert z[4] == pytest.approx(4.7214, abs=1e-4)          # 1.4 / 0.29652
    # IQR variant: sorted d = −.2 0 .1 .3 1.5, Q1 = 0, Q3 = .3 (linear interpolation) → SD = .7413 · .3
    z_iqr, _, sd_iqr = drift.robust_z(d, scale="iqr")
    assert sd_iqr == pytest.approx(0.22239) and z_iqr[4] == pytest.approx(1.4 / 0.22239)
    # the reference set (retained anchors) gives median and MAD; every value still gets a z:
    # ref = .1 −.2 0 .3 → median .05; |dev| = .05 .25 .05 .25 → MAD .15
    z_ref, med_ref, sd_ref = drift.robust_z(d, reference=[True, True, True, True, False])
    assert med_ref == pytest.approx(0.05) and sd_ref == pytest.approx(1.4826 * 0.15)
    assert z_ref[4] == pytest.approx(1.45 / (1.4826 * 0.15))
    # MAD 0 (most values equal): mean absolute deviation · sqrt(π/2) = 0.2 · 1.2533
    z0, _, sd0 = drift.robust_z([0.0, 0.0, 0.0, 0.0, 1.0])
    assert sd0 == pytest.approx(0.2 * np.sqrt(np.pi / 2)) and z0[4] == pytest.approx(1 / sd0)
    assert np.all(drift.robust_z([0.5] * 4)[0] == 0)


def test_icc_areas_match_raju_closed_forms_over_a_wide_range():
    D = 1.702
    old = ItemParameters.from_arrays([1.0, 1.5, 0.8, 1.2], [0.0, -0.5, 1.0, 0.2], [0.0, 0.0, 0.2, 0.15], D)
    new = ItemParameters.from_arrays([1.0, 0.9, 1.6, 1.2], [0.5, 0.3, 0.2, -0.4], [0.0, 0.0, 0.2, 0.15], D)
    ua, sa, rmsd = drift.icc_areas(old, new, bound=30.0, n_nodes=30001)
    np.testing.assert_allclose(ua, drift.raju_unsigned_area(old.a, old.b, new.a, new.b, old.c, D), atol=1e-5)
    np.testing.assert_allclose(sa, drift.raju_signed_area(old.a, old.b, new.a, new.b, old.c, D), atol=1e-5)
    # equal slopes: unsigned = |signed| = (1 − c)|Δb|; first item: 0.5
    assert ua[0] == pytest.approx(0.5, abs=1e-5) and sa[0] == pytest.approx(0.5, abs=1e-5)
    # over [−4, 4] the default grid is close for items centred well inside it; the RMSD is a probability gap
    ua4, _, rmsd4 = drift.icc_areas(old, new)
    assert ua4[0] == pytest.approx(0.5, abs=5e-3)           # the tails beyond ±4 hold ~0.001
    assert np.all((rmsd4 > 0) & (rmsd4 < 0.5))
    assert np.all(drift.icc_areas(old, old)[0] == 0)


def to_new_scale(bank, A, B):
    # θ_bank = A θ_new + B  ⇔  b_new = (b_bank − B)/A, a_new = A a_bank
    return bank.assign(a=bank.a * A, b=(bank.b - B) / A)


@pytest.fixture(scope="module")
def anchors20():
    rng = np.random.default_rng(11)
    return pd.DataFrame({"item_id": [f"A{j:02d}" for j in range(20)], "a": rng.uniform(0.8, 2.0, 20),
                         "b": rng.normal(0, 1, 20), "c": 0.0}), rng


def test_screen_releases_the_drifted_anchor_and_recovers_the_link(anchors20):
    bank, rng = anchors20
    noisy = bank.assign(b=bank.b + rng.normal(0, 0.05, 20), a=bank.a * np.exp(rng.normal(0, 0.05, 20)))
    noisy.loc[7, "b"] += 1.0                                  # anchor A07 got 1 logit harder
    new = to_new_scale(noisy, 1.2, -0.3)
    res = drift.screen_anchor_drift(new, bank, method="stocking-lord")
    assert res.released_ids == ("A07",)
    assert res.A == pytest.approx(1.2, abs=0.05) and res.B == pytest.approx(-0.3, abs=0.05)
    assert res.displacement[7] == pytest.approx(1.0, abs=0.1) and res.z[7] > 5
    assert res.stable and res.iterations == 2 and res.history == (("A07",), ("A07",))
    # the area statistics single out the same item
    assert np.argmax(res.area) == 7 and np.argmax(res.rmsd) == 7 and res.signed_area[7] > 0.5
    # with the link done outside (new already on the bank scale) the same anchor goes
    on_bank = drift.screen_anchor_drift(noisy, bank, method=None)
    assert on_bank.released_ids == ("A07",) and (on_bank.A, on_bank.B) == (1.0, 0.0)
    frame = res.to_frame()
    assert list(frame.columns[:7]) == ["item_id", "a_bank", "b_bank", "c_bank", "a_new", "b_new", "c_new"]
    assert frame.released.sum() == 1
    text = res.summary()
    assert "A07 released for drift (b moved +1.0" in text and "Stocking–Lord on 19 anchors" in text
    with pytest.raises(dataclasses.FrozenInstanceError):
        res.A = 2.0
    with pytest.raises(ValueError):
        res.displacement[0] = 9.0


def test_both_rules_must_hold(anchors20):
    bank, rng = anchors20
    # tiny noise: a 0.2-logit shift is many robust SDs away, but below the 0.3 practical floor
    new = bank.assign(b=bank.b + rng.normal(0, 0.01, 20))
    new.loc[2, "b"] += 0.2
    res = drift.screen_anchor_drift(new, bank, method=None)
    assert abs(res.z[2]) > 2.7 and res.released_ids == ()
    assert drift.screen_anchor_drift(new, bank, method=None, b_threshold=0.1).released_ids == ("A02",)
    # the optional RMSD floor is a third condition
    strict = drift.screen_anchor_drift(new, bank, method=None, b_threshold=0.1, rmsd_threshold=0.2)
    assert strict.released_ids == () and "RMSD over 0.2" in strict.summary()
    # large noise: a 0.5-logit shift is past the floor but not an outlier among noisy anchors
    loud = bank.assign(b=bank.b + rng.normal(0, 0.4, 20))
    res = drift.screen_anchor_drift(loud, bank, method=None)
    assert res.released_ids == tuple(i for i, z, d in zip(res.item_ids, res.z, res.displacement)
                                     if abs(z) > 2.7 and abs(d) > 0.3)


def test_screen_errors(anchors20):
    bank, rng = anchors20
    # every anchor moved ±(0.6 to 1.5) logits in random directions: no link can hold the scale
    moved = bank.assign(b=bank.b + rng.choice([-1, 1], 20) * rng.uniform(0.6, 1.5, 20))
    with pytest.raises(EstimationError, match=r"^\d+ of 20 anchors drifted .*cannot hold the scale"):
        drift.screen_anchor_drift(moved, bank)
    with pytest.raises(InputError, match="at least 5 anchor items"):
        drift.screen_anchor_drift(bank.iloc[:4], bank)
    with pytest.raises(InputError, match="robust z threshold"):
        drift.screen_anchor_drift(bank, bank, z_threshold=0)
    with pytest.raises(InputError, match="unknown linking method"):
        drift.screen_anchor_drift(bank, bank, method="equipercentile")


def test_parameters_on_another_metric_are_carried_over(anchors20):
    bank, _ = anchors20
    normal = bank.assign(a=bank.a / 1.702, D=1.702)           # the same curves on the normal-ogive metric
    p = drift.as_item_parameters(normal, 1.0)
    np.testing.assert_allclose(p.a, bank.a)
    assert drift.as_item_parameters({"x": (1.0, 0.5)}, 1.0).c[0] == 0.0


# ---- recovery against a known truth ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def clean_runs():
    """Four seeds of clean year-2 data, both methods."""
    out = []
    for seed in range(4):
        x, ids, bank, truth = year2(seed)
        out.append((truth, calibrate_to_bank_scale(x, ids, bank),
                    calibrate_to_bank_scale(x, ids, bank, method="fixed-anchor")))
    return out


@pytest.fixture(scope="module")
def planted_runs():
    out = []
    for seed in range(4):
        x, ids, bank, truth = year2(seed, plant=PLANTED)
        out.append((truth, calibrate_to_bank_scale(x, ids, bank),
                    calibrate_to_bank_scale(x, ids, bank, drift=False),
                    calibrate_to_bank_scale(x, ids, bank, method="fixed-anchor")))
    return out


def test_linking_constants_and_new_items_recovered(clean_runs):
    for truth, sl, _ in clean_runs:
        assert sl.B == pytest.approx(SHIFT, abs=0.1) and sl.A == pytest.approx(1.0, abs=0.1)
        assert sl.B == pytest.approx(truth["theta"].mean(), abs=0.05)
        new = np.arange(N_ANCHORS, N_ITEMS)
        assert rmse(sl.b[new], truth["b"][new]) < 0.15
        assert rmse(np.log(sl.a[new]), np.log(truth["a"][new])) < 0.15
        assert sl.new_items == tuple(f"PSS-{j + 1:04d}" for j in new)


def test_clean_anchors_are_rarely_released(clean_runs):
    false_releases = sum(len(sl.anchors_released) for _, sl, _ in clean_runs)
    assert false_releases <= 1                                # of 4 × 20 clean anchors


def test_the_drifted_anchor_is_released_and_the_link_stays_true(planted_runs):
    planted_id = f"PSS-{PLANTED + 1:04d}"
    for truth, sl, unscreened, fa in planted_runs:
        assert sl.anchors_released == (planted_id,) and fa.anchors_released == (planted_id,)
        assert len(sl.anchors_used) == N_ANCHORS - 1
        assert sl.B == pytest.approx(SHIFT, abs=0.1)
        truth_B = truth["theta"].mean()
        # kept in, the drifted anchor drags B down (it looks 1 logit harder, so the group looks weaker)
        assert unscreened.anchors_released == ()
        assert sl.B - unscreened.B > 0.03
        assert abs(unscreened.B - truth_B) > abs(sl.B - truth_B)
        k = sl.item_ids.index(planted_id)
        assert sl.drift.displacement[PLANTED] == pytest.approx(1.0, abs=0.25)
        assert sl.b[k] == pytest.approx(truth["b"][PLANTED] + 1.0, abs=0.25)   # its new place on the scale
        assert fa.b[k] == pytest.approx(truth["b"][PLANTED] + 1.0, abs=0.25)
    text = planted_runs[0][1].summary()
    assert text.startswith(f"60 items, 20 anchors; {planted_id} released for drift (b moved +")
    assert "linked by Stocking–Lord A = " in text and "on 19 anchors" in text


def test_stocking_lord_and_fixed_anchor_agree(clean_runs, planted_runs):
    new = np.arange(N_ANCHORS, N_ITEMS)
    for truth, sl, fa in clean_runs + [(r[0], r[1], r[3]) for r in planted_runs]:
        assert fa.method == "fixed-anchor" and sl.method == "stocking-lord"
        assert fa.B == pytest.approx(sl.B, abs=0.03) and fa.A == pytest.approx(sl.A, abs=0.03)
        assert np.max(np.abs(fa.b[new] - sl.b[new])) < 0.05
        assert rmse(fa.b[new], truth["b"][new]) < 0.15
        # the retained anchors are held exactly at their bank values
        held = np.array([r == "anchor" for r in fa.role])
        np.testing.assert_array_equal(fa.calibration.fixed, held)
        np.testing.assert_allclose(fa.b[held], truth["b"][:N_ANCHORS][held[:N_ANCHORS]])


def test_result_frames(planted_runs):
    _, sl, _, fa = planted_runs[0]
    frame = sl.to_frame()
    assert len(frame) == N_ITEMS and frame.role.value_counts().to_dict() == {"new": 40, "anchor": 19,
                                                                             "released": 1}
    assert frame.b_bank.isna().sum() == 40 and not frame.fixed.any()
    assert fa.to_frame().fixed.sum() == 19
    assert len(sl.anchors_frame()) == N_ANCHORS and sl.anchors_frame().released.sum() == 1
    assert "fixed-anchor calibration holding 19 anchors" in fa.summary()


def test_bank_scale_errors():
    x, ids, bank, _ = year2(0, n_persons=300)
    with pytest.raises(InputError, match=r"^The form shares 4 items with the bank \(PSS-0001, .*at least 5"):
        calibrate_to_bank_scale(x, ids, bank.iloc[:4])
    assert MIN_COMMON_ITEMS == 5
    with pytest.raises(InputError, match="unknown bank-scale method"):
        calibrate_to_bank_scale(x, ids, bank, method="concurrent")
    # every anchor drifted, in both directions
    rng = np.random.default_rng(7)
    shifts = rng.choice([-1, 1], N_ANCHORS) * rng.uniform(0.8, 1.5, N_ANCHORS)
    x, ids, bank, _ = year2(1, plant=np.arange(N_ANCHORS), plant_shift=shifts, n_persons=1500)
    for method in ("stocking-lord", "fixed-anchor"):
        with pytest.raises(EstimationError, match="of 20 anchors drifted"):
            calibrate_to_bank_scale(x, ids, bank, method=method)


# ---- a bigger study (run with -m slow) -------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize("model", ["2pl", "3pl"])
def test_false_release_rate_and_bias_over_many_seeds(model):
    """30 seeds, one anchor planted +1 logit. 2PL, N = 3000: no false release measured, none missed, |B error|
    ≤ 0.02. 3PL, N = 5000, plain rule: 10 of 570 clean anchors released (b–c trade-off: c up ~0.1, b up
    0.3–0.4, curves RMSD ≤ 0.035), so the 3PL run adds the RMSD floor of 0.04 (none false, none missed)."""
    n_persons = 3000 if model == "2pl" else 5000
    rmsd_floor = drift.RMSD_FLOOR_3PL if model == "3pl" else drift.RMSD_FLOOR
    planted_id = f"PSS-{PLANTED + 1:04d}"
    false, missed, errors = 0, 0, []
    for seed in range(30):
        x, ids, bank, truth = year2(100 + seed, plant=PLANTED, n_persons=n_persons, model=model)
        res = calibrate_to_bank_scale(x, ids, bank, model=model, rmsd_threshold=rmsd_floor)
        released = set(res.anchors_released)
        missed += planted_id not in released
        false += len(released - {planted_id})
        errors.append(res.B - truth["theta"].mean())
    assert missed <= 1
    assert false <= 3                                      # of 30 × 19 clean anchors
    assert abs(np.mean(errors)) < 0.02 and np.max(np.abs(errors)) < 0.05
