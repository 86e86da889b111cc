"""The calibrate job's report on the bank scale: the whole-model fit (M2, empirical reliability) is there as
for a free calibration, and a linear change of scale leaves it unchanged."""
import numpy as np
import pandas as pd
import pytest

from psychometrics.irt.bank_scale import calibrate_to_bank_scale
from psychometrics.irt.model_fit import overall_fit_summary
from psychometrics.simulate import simulate_responses
from workflows.calibration import _report_on_bank_scale


def _form(seed=4, n_items=30, n_anchors=10, n_persons=1500):
    rng = np.random.default_rng(seed)
    a, b = rng.uniform(0.8, 2.0, n_items), rng.normal(0.0, 1.0, n_items)
    ids = [f"PSS-{j + 1:04d}" for j in range(n_items)]
    bank = pd.DataFrame({"item_id": ids[:n_anchors], "a": a[:n_anchors], "b": b[:n_anchors], "c": 0.0})
    x = simulate_responses(rng.normal(0.5, 1.2, n_persons), a, b, rng=rng)
    return x, ids, bank


@pytest.mark.parametrize("method", ["stocking-lord", "fixed-anchor"])
def test_a_linked_calibration_reports_m2_and_reliability_unchanged_by_the_scale(method):
    x, ids, bank = _form()
    linked = calibrate_to_bank_scale(x, ids, bank, method=method)
    report = _report_on_bank_scale(linked, x)
    free = overall_fit_summary(x, linked.free_calibration)
    fit = report.overall_fit
    assert fit["m2"] is not None and fit["m2_df"] > 0
    assert 0.6 < fit["empirical_reliability_eap"] < 1.0
    if method == "stocking-lord":  # the free calibration, carried by a linear map: the same numbers
        for key in ("m2", "m2_df", "m2_p_value", "rmsea2", "srmsr", "empirical_reliability_eap",
                    "empirical_reliability_summed_score_eap"):
            assert fit[key] == pytest.approx(free[key], rel=1e-9), key
    else:  # anchors held at bank values, latent mean and SD estimated: a different fit of the same data
        assert fit["m2"] == pytest.approx(free["m2"], rel=0.15)
        assert fit["empirical_reliability_eap"] == pytest.approx(free["empirical_reliability_eap"], abs=0.01)
