"""workflows.calibration file-level jobs called from Python (no CLI): calibrate_file, score_file,
scored_matrix. Checked by parameter recovery on simulated data with known truth."""
from contextlib import contextmanager

import numpy as np
import pandas as pd
import pytest

from certbank_core.errors import InputError
from psychometrics.simulate import simulate_items, simulate_responses
from tests.psychometrics.test_irt_cli import write_responses
from workflows.calibration import CalibrationReport, calibrate_file, scored_matrix
from workflows.scoring import score_file


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    folder = tmp_path_factory.mktemp("irtjobs")
    rng = np.random.default_rng(21)
    items = simulate_items(12, rng, model="2pl")
    ids = [f"PSS-{j + 1:04d}" for j in range(12)]
    theta = rng.normal(0.0, 1.0, 1200)
    write_responses(folder / "resp.csv", simulate_responses(theta, items.a, items.b, rng=rng), ids)
    return folder, items, ids, theta


class _ParamBank:
    """Just the Bank methods calibrate_file uses with --save and --anchor-from-bank."""

    def __init__(self, params=None):
        self.saved, self.params = [], params if params is not None else pd.DataFrame(
            columns=["item_id", "a", "b", "c", "D"])

    @contextmanager
    def transaction(self):
        yield

    def save_parameter_set(self, frame, *, model, D, method, scale, label, **provenance):
        self.saved.append((frame, model, D, label, method, scale))

    def bank_scale_defined(self):
        return len(self.params) > 0

    def item_parameters(self, item_ids=None):
        return self.params[self.params.item_id.isin(list(item_ids))]


def test_calibrate_file_recovers_parameters_and_writes_only_on_write(data, tmp_path):
    folder, items, ids, _ = data
    run = calibrate_file(None, folder / "resp.csv", model="2pl")
    out = tmp_path / "params.csv"
    assert not out.exists()
    cal = run.report.calibration
    assert np.corrcoef(cal.b, items.b)[0, 1] > 0.97 and np.corrcoef(cal.a, items.a)[0, 1] > 0.8
    bank = _ParamBank()
    written = run.write(out, bank=bank, label=None)
    assert written == CalibrationReport.output_paths(out) and all(p.exists() for p in written)
    frame, model, D, label, method, scale = bank.saved[0]
    assert model == "2pl" and D == 1.0 and label == "2pl resp.csv" and frame["item_id"].tolist() == ids
    assert (method, scale) == ("free", "bank")  # the first parameters of a bank define its scale
    assert run.message(out).endswith(f"Wrote {out}, {tmp_path / 'calibration.json'}, {tmp_path / 'irt_flags.csv'}.")


def test_calibrate_file_anchors_from_the_bank(data):
    folder, items, ids, _ = data
    bank = _ParamBank(pd.DataFrame({"item_id": ids[:4], "a": items.a[:4], "b": items.b[:4], "c": 0.0, "D": 1.0}))
    run = calibrate_file(bank, folder / "resp.csv", model="2pl", anchor_from_bank=True)
    cal = run.report.calibration
    assert cal.fixed.tolist() == [True] * 4 + [False] * 8
    assert cal.b[:4] == pytest.approx(items.b[:4])
    assert "4 anchors held at their bank values" in run.message("p.csv")
    assert "too few to screen them for drift" in run.message("p.csv")
    with pytest.raises(InputError, match="none of the items"):
        calibrate_file(_ParamBank(), folder / "resp.csv", anchor_from_bank=True)
    with pytest.raises(InputError, match="needs the item bank"):
        calibrate_file(None, folder / "resp.csv", anchor_from_bank=True)


def test_score_file_eap_tracks_true_theta(data, tmp_path):
    folder, items, ids, theta = data
    params = tmp_path / "params.csv"
    pd.DataFrame({"item_id": ids, "a": items.a, "b": items.b, "c": 0.0, "D": 1.0}).to_csv(params, index=False)
    run = score_file(None, folder / "resp.csv", params_file=params, method="eap")
    # 12 items give a reliability near 0.7, so corr(θ̂, θ) ≈ √0.7 ≈ 0.84; a wrong prior or item order breaks it
    assert np.corrcoef(run.scores.theta, theta)[0, 1] > 0.75
    run.write(tmp_path / "thetas.csv")
    assert len(pd.read_csv(tmp_path / "thetas.csv")) == len(theta)
    assert run.message("t.csv").startswith(f"Scored {len(theta)} candidates by EAP")
    with pytest.raises(InputError, match="Give --params"):
        score_file(None, folder / "resp.csv")


def test_scored_matrix_scores_option_labels_with_a_key_file(tmp_path):
    responses = tmp_path / "r.csv"
    pd.DataFrame({"candidate_id": ["p1", "p2"], "Q1": ["A", "B"], "Q2": ["C", "C"]}).to_csv(responses, index=False)
    key = tmp_path / "key.csv"
    pd.DataFrame({"item_id": ["Q1", "Q2"], "key": ["A", "D"]}).to_csv(key, index=False)
    matrix, versions = scored_matrix(None, responses, key_file=key)
    assert matrix.scored.tolist() == [[1.0, 0.0], [0.0, 0.0]] and versions is None
    with pytest.raises(InputError, match="either --form or --key"):
        scored_matrix(None, responses, form_id="F1", key_file=key)
