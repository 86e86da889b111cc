"""Scaled scores: the fixed scaled cut, raw → θ → scaled tables and candidate reports."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from certbank_core.errors import InputError
from psychometrics.irt.equating import ItemParameters, raw_cut_from_theta
from psychometrics.standards import scaling as sc

B = np.linspace(-2, 2, 20)
PARAMS = ItemParameters.from_arrays(np.full(20, 1.2), B, np.full(20, 0.2), item_ids=[f"I{j}" for j in range(20)])


def test_linear_scale_by_hand():
    scale = sc.ScaleDefinition()  # 200–800, 500 at the cut, 100 points per logit
    np.testing.assert_allclose(scale.scaled([0.3, 1.3, -0.7, 9.0], theta_cut=0.3), [500, 600, 400, 800])


def test_piecewise_scale_by_hand():
    scale = sc.ScaleDefinition(kind="piecewise")  # (−4, 200) – (θc, 500) – (4, 800)
    np.testing.assert_allclose(scale.scaled([-4, 1.0, 2.5, 4], theta_cut=1.0), [200, 500, 650, 800])
    with pytest.raises(InputError, match="outside the piecewise"):
        scale.scaled([0], theta_cut=5.0)


def test_bad_scale_definitions():
    with pytest.raises(InputError, match="strictly between"):
        sc.ScaleDefinition(low=200, high=800, cut=900)
    with pytest.raises(InputError):
        sc.ScaleDefinition(kind="log")


def test_conversion_table_keeps_decisions_on_the_right_side_of_the_cut():
    theta_cut = 0.25
    table = sc.conversion_table(PARAMS, theta_cut)
    raw_cut = table.attrs["raw_cut"]
    assert raw_cut == raw_cut_from_theta(theta_cut, PARAMS)
    assert table.loc[raw_cut, "scaled"] >= 500 and table.loc[raw_cut - 1, "scaled"] < 500
    assert (table["passed"] == (table["raw"] >= raw_cut)).all()
    assert np.all(np.diff(table["scaled"]) >= 0)
    # θ of an interior raw score inverts the TCC; below the chance score (Σc = 4) it is the low end.
    inside = table[(table.raw > 4) & (table.raw < 20)]
    np.testing.assert_allclose(PARAMS.tcc(inside["theta"].to_numpy()), inside["raw"], atol=1e-8)
    assert table.loc[0, "theta"] == -4.0 and table.loc[20, "scaled"] == 800


@settings(max_examples=25, deadline=None)
@given(st.floats(-1.5, 1.5))
def test_raw_cut_always_scales_to_at_least_the_scaled_cut(theta_cut):
    table = sc.conversion_table(PARAMS, theta_cut)
    passed = table["scaled"] >= 500
    assert (passed == table["passed"]).all()


def test_score_candidates_report():
    scored = np.zeros((3, 20))
    scored[0, :] = 1                      # 20 right
    scored[1, :8] = 1                     # 8 right, all in area A
    scored[2, :15] = 1
    scored[2, 14] = np.nan                # not presented: counted as wrong for the total
    areas = ["A"] * 10 + ["B"] * 10
    out = sc.score_candidates(scored, PARAMS, theta_cut=0.25, areas=areas, person_ids=["p1", "p2", "p3"])
    raw_cut = out.attrs["raw_cut"]
    assert out["raw"].tolist() == [20, 8, 14]
    assert out["result"].tolist() == ["pass" if r >= raw_cut else "fail" for r in (20, 8, 14)]
    assert out["pct_A"].tolist() == [100.0, 80.0, 100.0]
    assert out["pct_B"].tolist() == [100.0, 0.0, 40.0]
    assert out["note"].str.contains("total score").all()
    with pytest.raises(InputError, match="items"):
        sc.score_candidates(np.zeros((2, 5)), PARAMS, 0.0)
