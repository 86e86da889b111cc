"""Area bands: a hand-worked example at P = .5, and recovery of known true area abilities by simulation."""
import numpy as np
import pytest

from certbank_core.errors import InputError
from psychometrics.irt.models import ItemParameters
from psychometrics.standards.area_bands import NOT_BANDED, area_bands, check_bands, simulate_area_responses


def test_hand_worked_bands_at_half_probability():
    # 8 items with b = θ_cut and c = 0: P = .5 each, T = 4, SE = sqrt(8 · .25) = 1.414; 3 more items: too few.
    params = ItemParameters.from_arrays(a=np.ones(11), b=np.zeros(11), c=np.zeros(11))
    areas = ["A"] * 8 + ["B"] * 3
    rows = np.zeros((4, 11))
    for i, correct in enumerate([2, 5, 6, 3]):
        rows[i, :correct] = 1
    result = area_bands(rows, params, 0.0, areas)
    assert result.expected_at_cut[0] == pytest.approx(4.0)
    assert result.se_at_cut[0] == pytest.approx(np.sqrt(2.0))
    # 2 < 4 − 1.414 → below; 5 and 3 within 4 ± 1.414 → near; 6 > 5.414 → above
    assert list(result.band[:, 0]) == ["below", "near", "above", "near"]
    assert set(result.band[:, 1]) == {NOT_BANDED}
    assert list(result.banded) == [True, False]


def test_not_presented_items_count_as_wrong():
    params = ItemParameters.from_arrays(a=np.ones(8), b=np.zeros(8))
    x = np.full((1, 8), np.nan)
    x[0, :6] = 1
    assert area_bands(x, params, 0.0, ["A"] * 8).observed[0, 0] == 6


def test_mismatched_areas_are_refused():
    params = ItemParameters.from_arrays(a=np.ones(8), b=np.zeros(8))
    with pytest.raises(InputError):
        area_bands(np.ones((2, 8)), params, 0.0, ["A"] * 7)


def test_simulated_true_area_abilities_are_banded_right_for_most_candidates():
    # A 120-item 3PL form in 12 areas of 10 items, and one area of 5 items that must not be banded.
    rng = np.random.default_rng(20261201)
    n_items = 125
    params = ItemParameters.from_arrays(a=rng.lognormal(0.0, 0.25, n_items), b=rng.normal(0.0, 1.0, n_items),
                                        c=rng.uniform(0.1, 0.25, n_items))
    areas = [f"A{j // 10}" for j in range(120)] + ["SMALL"] * 5
    theta_cut = -0.35
    x, truth = simulate_area_responses(params, areas, 8000, rng, correlation=0.8)
    result = area_bands(x, params, theta_cut, areas)
    assert not result.banded[result.areas.index("SMALL")]
    assert set(result.band[:, result.areas.index("SMALL")]) == {NOT_BANDED}
    check = check_bands(result, truth, theta_cut, params, areas)
    assert check.right > 0.9
    assert check.wrong_direction < 0.07
    assert check.n_pairs == 8000 * 12
