"""Job-analysis numerics against hand-worked examples and a published table (psychometrics/jta)."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from certbank_core.errors import EstimationError
from psychometrics.jta import (InclusionRule, allocate_items, area_weights, compare_subgroups, competency_ratings,
                               hedges_g, intraclass, largest_remainder, rwg, rwg_j)
from psychometrics.jta.ratings import scale_distribution, simulate_survey

NAN = np.nan


def test_shrout_fleiss_table_2_published_values():
    # Shrout & Fleiss (1979), worked example: 6 targets rated by 4 judges; published BMS 11.24, WMS 6.26, JMS 32.49,
    # EMS 1.02 and ICC(1,1) .17, ICC(2,1) .29, ICC(3,1) .71, ICC(1,4) .44, ICC(2,4) .62, ICC(3,4) .91.
    table = [[9, 2, 5, 8], [6, 1, 3, 2], [8, 4, 6, 8], [7, 1, 2, 6], [10, 5, 6, 9], [6, 2, 4, 7]]
    r = intraclass(table)
    assert (r.n_targets, r.n_raters) == (6, 4)
    assert (round(r.bms, 2), round(r.wms, 2), round(r.jms, 2), round(r.ems, 2)) == (11.24, 6.26, 32.49, 1.02)
    got = [round(v, 2) for v in (r.icc_1_1, r.icc_2_1, r.icc_3_1, r.icc_1_k, r.icc_2_k, r.icc_3_k)]
    assert got == [0.17, 0.29, 0.71, 0.44, 0.62, 0.91]
    assert list(r.to_frame().columns)[:2] == ["n_targets", "n_raters"]


def test_intraclass_refuses_missing_cells():
    with pytest.raises(EstimationError):
        intraclass([[1, 2], [3, NAN]])


def test_rwg_hand_worked():
    # ratings 3,4,4,5,4 on a 5-point scale: s² = (1+0+0+1+0)/4 = 0.5; σ²_EU = (25−1)/12 = 2; r_wg = 1 − 0.25
    s2 = np.var([3, 4, 4, 5, 4], ddof=1)
    assert rwg([s2], 5)[0] == pytest.approx(0.75)
    assert rwg([3.0], 5)[0] == 0.0  # more spread than the uniform null: floored at 0
    # J = 2 statements, variances 0.5 and 1.0: s̄² = 0.75, ratio 0.375; 2·0.625 / (2·0.625 + 0.375) = 0.76923
    assert rwg_j([0.5, 1.0], 5) == pytest.approx(1.25 / 1.625)
    assert rwg_j([2.5, 3.0], 5) == 0.0


def test_competency_ratings_hand_worked():
    imp = [[4, 1], [3, 0], [2, NAN], [4, 2]]
    freq = [[5, 0], [4, 0], [1, NAN], [3, 0]]
    r = competency_ratings(imp, freq, ["X.I.1", "X.I.2"], ["X.I", "X.I"], InclusionRule(2.0, 0.5))
    f = r.to_frame()
    # competency 1: I = 4,3,2,4 (mean 3.25, s² = 2.75/3); F = 5,4,1,3 (mean 3.25, s² = 8.75/3);
    # I·F = 20,12,2,12 → criticality 46/4 = 11.5; r_wg = 1 − (2.75/3)/2
    assert f.loc[0, "n"] == 4
    assert f.loc[0, "importance_mean"] == pytest.approx(3.25)
    assert f.loc[0, "importance_sd"] == pytest.approx(np.sqrt(2.75 / 3))
    assert f.loc[0, "frequency_mean"] == pytest.approx(3.25)
    assert f.loc[0, "frequency_sd"] == pytest.approx(np.sqrt(8.75 / 3))
    assert f.loc[0, "not_performed"] == 0.0
    assert f.loc[0, "criticality"] == pytest.approx(11.5)
    assert f.loc[0, "rwg_importance"] == pytest.approx(1 - (2.75 / 3) / 2)
    assert bool(f.loc[0, "included"]) and f.loc[0, "excluded_because"] == ""
    # competency 2: three raters, I = 1,0,2 (mean 1, SD 1), never performed → criticality 0, out for both reasons
    assert f.loc[1, "n"] == 3
    assert (f.loc[1, "importance_mean"], f.loc[1, "importance_sd"]) == pytest.approx((1.0, 1.0))
    assert (f.loc[1, "not_performed"], f.loc[1, "criticality"]) == (1.0, 0.0)
    assert not f.loc[1, "included"]
    assert "below 2" in f.loc[1, "excluded_because"] and "100% do not perform" in f.loc[1, "excluded_because"]


def test_hedges_g_hand_worked():
    # group 2,4,6 (mean 4, SS 8); rest 1..5 (mean 3, SS 10); s_p² = 18/6 = 3; d = 1/√3;
    # J = 1 − 3/(4·8 − 9) = 20/23; g = 0.50204
    g, n1, n2 = hedges_g(np.array([[2.0], [4], [6]]), np.array([[1.0], [2], [3], [4], [5]]))
    assert g[0] == pytest.approx((20 / 23) / np.sqrt(3))
    assert (n1[0], n2[0]) == (3, 5)


def test_compare_subgroups_two_groups_one_row_each_and_minimum_size():
    x = np.array([[2.0], [4], [6], [1], [2], [3], [4], [5]])
    labels = np.array(["es"] * 3 + ["en"] * 5, dtype=object)
    out = compare_subgroups({"criticality": x}, ["X.I.1"], {"language": labels}, min_size=3).to_frame()
    assert len(out) == 1 and out.loc[0, "group"] == "en"  # en against es: the sign reverses
    assert out.loc[0, "hedges_g"] == pytest.approx(-(20 / 23) / np.sqrt(3))
    assert out.loc[0, "flagged"]
    with pytest.raises(EstimationError, match="'es' of 'language' has 3 respondents, fewer than the 4"):
        compare_subgroups({"criticality": x}, ["X.I.1"], {"language": labels}, min_size=4)


def test_area_weights_hand_worked():
    # included criticality by area: A = 11.5 (the 0 is excluded), B = 3 + 5.5 = 8.5; total 20
    w = area_weights([11.5, 0.0, 3.0, 5.5], ["A", "A", "B", "B"], [True, False, True, True], ["A", "B"])
    assert w == pytest.approx([0.575, 0.425])


def test_allocation_with_minimum_hand_worked():
    # 20 items, minimum 2: area 4's share is 1, raised to 2; the other 18 go 0.5:0.3:0.15 → 9.474, 5.684,
    # 2.842; floors 9+5+2+2 = 18; the 2 free seats go to the largest remainders .842 and .684 → 9, 6, 3, 2
    a = allocate_items([0.5, 0.3, 0.15, 0.05], ["A", "B", "C", "D"], 20, minimum=2)
    assert a.quota == pytest.approx([18 * 0.5 / 0.95, 18 * 0.3 / 0.95, 18 * 0.15 / 0.95, 2.0])
    assert a.counts.tolist() == [9, 6, 3, 2]
    assert a.raised == ("D",) and a.capped == ()


def test_allocation_with_cap_and_tie_hand_worked():
    # 10 items, cap 5: A's share 6 is capped at 5; B and C split the other 5: 2.5 each; one free seat, tied
    # remainders and weights → the area listed first (B)
    a = allocate_items([0.6, 0.2, 0.2], ["A", "B", "C"], 10, minimum=0, maximum=5)
    assert a.counts.tolist() == [5, 3, 2] and a.capped == ("A",)
    assert list(a.to_frame().columns) == ["area", "weight", "share_of_length", "quota", "count", "minimum", "maximum"]


def test_plain_largest_remainder_hand_worked():
    # quotas 3.6, 2.3, 4.1 (sum 10): floors 3, 2, 4 = 9; the one seat goes to .6 → 4, 2, 4
    assert largest_remainder([3.6, 2.3, 4.1], 10).tolist() == [4, 2, 4]


def test_allocation_refuses_impossible_bounds():
    with pytest.raises(EstimationError, match="minimums add up to 24"):
        allocate_items([0.5, 0.5], ["A", "B"], 20, minimum=12)
    with pytest.raises(EstimationError, match="maximums add up to 10"):
        allocate_items([0.5, 0.5], ["A", "B"], 20, maximum=5)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.floats(0.01, 1.0), min_size=2, max_size=12), st.integers(20, 200), st.integers(0, 3))
def test_allocation_sums_to_length_within_bounds(raw, length, minimum):
    w = np.array(raw)
    if w.sum() == 0:
        w = w + 1
    w = w / w.sum()
    k = w.size
    if minimum * k > length:
        return
    cap = max(int(np.ceil(length / k)) + 2, minimum)
    a = allocate_items(w, [str(i) for i in range(k)], length, minimum=minimum, maximum=cap)
    assert a.counts.sum() == length
    assert (a.counts >= minimum).all() and (a.counts <= cap).all()
    assert np.all(np.abs(a.counts - a.quota) < 1)


def test_simulation_truth_is_exact_expectation():
    p = scale_distribution(2.0, 4)
    assert p.sum() == pytest.approx(1) and p @ np.arange(5) == pytest.approx(2.0)  # symmetric about 2
    assert scale_distribution(3.0, 5, zero_mass=0.8)[0] == pytest.approx(0.8)
    sim = simulate_survey([3.0, 2.0], [3.0, 2.5], np.random.default_rng(4), n=3000)
    assert (sim.importance * sim.frequency).mean(axis=0) == pytest.approx(sim.true_criticality, rel=0.05)
