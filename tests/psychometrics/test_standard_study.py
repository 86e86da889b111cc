"""Carrying one θ standard to several forms, checked against a direct evaluation of each form's TCC."""
import math

import numpy as np
import pytest

from certbank_core.errors import InputError
from psychometrics.irt import models
from psychometrics.irt.equating import ItemParameters
from psychometrics.standards.carrying import carry_standard


def _form(rng, shift, n=40):
    return ItemParameters.from_arrays(rng.lognormal(0, .25, n), rng.normal(shift, 1, n), np.full(n, .2))


def test_raw_cut_of_each_form_is_the_smallest_score_reaching_the_true_score_at_the_cut():
    rng = np.random.default_rng(5)
    easy, hard = _form(rng, -0.5), _form(rng, 0.5)
    result = carry_standard(0.25, {"EASY": easy, "HARD": hard})
    for name, p in (("EASY", easy), ("HARD", hard)):
        tau = models.test_characteristic_curve([0.25], p.a, p.b, p.c)[0]  # independent: the TCC at the θ cut
        assert result.raw_cuts[name] == math.ceil(tau)
    assert result.raw_cuts["EASY"] > result.raw_cuts["HARD"]  # the easier form asks more raw points
    cuts = result.form_cuts_frame()
    assert list(cuts["form_id"]) == ["EASY", "HARD"] and (cuts["n_items"] == 40).all()
    for name, table in result.conversions.items():
        passed = table.loc[table["passed"], "raw"]
        assert passed.min() == result.raw_cuts[name]  # the conversion table agrees with the raw cut


def test_impact_and_decision_on_reference_candidates():
    rng = np.random.default_rng(6)
    form = _form(rng, 0.0)
    scores = rng.integers(5, 40, 500).astype(float)
    groups = np.where(rng.random(500) < .3, "es", "en")
    result = carry_standard(0.0, {"A": form}, scores=scores, groups=groups, cut_se=1.5)
    at_cut = result.impact[(result.impact["group"] == "all") & (result.impact["shift_se"] == 0)]
    assert at_cut["pass_rate"].iloc[0] == pytest.approx(100 * np.mean(scores >= result.raw_cuts["A"]))
    es = result.impact[(result.impact["group"] == "es") & (result.impact["shift_se"] == 0)]
    assert es["pass_rate"].iloc[0] == pytest.approx(100 * np.mean(scores[groups == "es"] >= result.raw_cuts["A"]))
    assert not result.decision.empty


def test_bad_input_is_a_clear_error():
    rng = np.random.default_rng(7)
    form = _form(rng, 0.0, n=10)
    with pytest.raises(InputError, match="between 0 and 10"):
        carry_standard(0.0, {"A": form}, scores=[3, 11])
    with pytest.raises(InputError, match="reference form"):
        carry_standard(0.0, {"A": form}, reference_form="B")
