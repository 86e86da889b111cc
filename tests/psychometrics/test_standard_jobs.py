"""workflows.standards called from Python (no CLI): the jobs behind cutscore, standard, equate and
score --standard. Hand-worked values: three raters' Angoff sums 2.6, 2.2, 3.0 on four Rasch items with
b = (−1, 0, 0, 1), whose TCC at θ = 0 is exactly 2.0."""
import json

import numpy as np
import pandas as pd
import pytest

from certbank_core.errors import InputError
from psychometrics.irt.equating import ItemParameters
from tests.psychometrics.test_standard_setting import (B_VALUES, ITEM_IDS, RATINGS, UNIFORM_SCORES, _FakeBank,
                                                       _params_file, _ratings_file, _responses_file, _write)
from workflows import equating as equating_jobs
from workflows import parameter_files, scoring
from workflows import standards as sj


class _StandardBank(_FakeBank):
    """The fake bank plus standards storage."""

    def save_standard(self, name, theta_cut, details):
        self.standards[name] = {"theta_cut": theta_cut, "details": details}

    def get_standard(self, name):
        from certbank_core.errors import NotFoundError

        if name not in self.standards:
            raise NotFoundError(f"There is no standard {name!r}.")
        return self.standards[name]

    def transaction(self):
        from contextlib import nullcontext

        return nullcontext()


def _scores(tmp_path):
    return _write(tmp_path, "scores.csv", [{"score": s, "language": g}
                                           for s, g in [(4, "en"), (3, "en"), (2, "es"), (1, "es")]])


def test_angoff_study_from_files_computes_first_and_writes_only_on_write(tmp_path):
    out = tmp_path / "angoff"
    study = sj.angoff_study(None, _ratings_file(tmp_path), params_file=_params_file(tmp_path),
                            scores_file=_scores(tmp_path), carry=True)
    assert not out.exists()
    assert study.result.cut_raw == pytest.approx(np.mean(RATINGS.sum(axis=1)))  # (2.6 + 2.2 + 3.0) / 3
    at_cut = study.frames["impact.csv"].query("shift_se == 0").set_index("group")["pass_rate"]
    assert at_cut.to_dict() == {"all": 50.0, "en": 100.0, "es": 0.0}  # raw cut ⌈2.6⌉ = 3
    assert study.carried.raw_cuts == {"reference": 3}
    written = study.write(out)
    assert sorted(p.name for p in written) == ["impact.csv", "raters.csv", "rounds.csv", "summary.json"]
    assert json.loads((out / "summary.json").read_text())["cut_raw"] == pytest.approx(2.6)
    assert study.message(out).startswith("Angoff cut 2.60 of 4 (65.0%)")


def test_angoff_study_with_a_bank_form_uses_its_p_values_and_needs_its_parameters(tmp_path):
    bank = _FakeBank()
    study = sj.angoff_study(bank, _ratings_file(tmp_path), form_id="F1")
    assert study.frames["raters.csv"]["reality_correlation"].notna().all()
    bank.params = bank.params.iloc[:2]
    with pytest.raises(InputError, match=r"2 of the 4 scored items of form F1 have no IRT parameters on the bank scale \(I3, I4\)"):
        sj.angoff_study(bank, _ratings_file(tmp_path), form_id="F1")
    with pytest.raises(InputError, match="needs the item bank"):
        sj.angoff_study(None, _ratings_file(tmp_path), form_id="F1")
    with pytest.raises(InputError, match="exactly one of"):
        sj.angoff_study(bank, _ratings_file(tmp_path), form_id="F1", params_file=_params_file(tmp_path))


def test_bookmark_and_compromise_studies(tmp_path):
    assert sj.parse_pages("2; 3,3") == [2, 3, 3]
    with pytest.raises(InputError, match="whole page numbers"):
        sj.parse_pages("2,x")
    study = sj.bookmark_study(None, "2,3,3", params_file=_params_file(tmp_path), rp=0.5)
    # RP 0.5 on Rasch items: page k's location is the k-th smallest b, so pages 2, 3, 3 → median b = 0
    assert study.result.theta_cut == pytest.approx(0.0, abs=1e-9)
    assert {"booklet.csv", "panelists.csv"} == set(study.frames)
    scores = _write(tmp_path, "s.csv", [{"score": s} for s in UNIFORM_SCORES])
    beuk = _write(tmp_path, "beuk.csv", [{"cut": 50, "pass_rate": 70}, {"cut": 60, "pass_rate": 50}])
    result = sj.compromise_study("beuk", scores, beuk, 10)
    assert result.result.cut_raw == 7 and "raw 7 of 10" in result.message("x")
    with pytest.raises(InputError, match="unknown compromise"):
        sj.compromise_study("nedelsky", scores, beuk, 10)


def test_new_standard_is_checked_before_anything_is_stored(tmp_path):
    bank = _StandardBank()
    with pytest.raises(InputError, match="outside the score range"):
        sj.new_standard("S", theta_cut=9.0)
    with pytest.raises(InputError, match="exactly one of"):
        sj.new_standard("S")
    with pytest.raises(InputError, match="does not exist; nothing was stored"):
        sj.new_standard("S", theta_cut=0.1, export_path=tmp_path / "no" / "s.json")
    new = sj.new_standard("S", theta_cut=0.25, scale={"kind": "linear", "low": 0, "high": 100, "cut": 70,
                                                      "slope": 10}, export_path=tmp_path / "s.json")
    assert bank.standards == {} and not (tmp_path / "s.json").exists()
    new.write(bank)
    assert bank.standards["S"]["theta_cut"] == 0.25
    from_bank, from_file = sj.load_standard(bank, "S"), sj.load_standard(None, str(tmp_path / "s.json"))
    assert from_bank["scale"] == from_file["scale"] and from_file["scale"]["cut"] == 70
    assert new.message() == "Standard S: θ cut 0.2500, scaled cut 70 on 0–100."
    # the same name again is refused without replace (nothing changes), and replacing says what it replaced
    again = sj.new_standard("S", theta_cut=0.5)
    with pytest.raises(InputError, match=r"already has a standard 'S' \(θ cut 0.2500\); give --replace"):
        again.write(bank)
    assert bank.standards["S"]["theta_cut"] == 0.25
    assert again.write(bank, replace=True).message().endswith("(replaced the old θ cut 0.2500).")
    assert bank.standards["S"]["theta_cut"] == 0.5


def test_new_standard_from_an_angoff_folder(tmp_path):
    study = sj.angoff_study(None, _ratings_file(tmp_path), params_file=_params_file(tmp_path))
    study.write(tmp_path / "a")
    new = sj.new_standard("S", angoff_dir=tmp_path / "a")
    assert new.record["theta_cut"] == pytest.approx(study.result.theta_cut)
    (tmp_path / "b").mkdir()
    with pytest.raises(InputError, match="does not exist; run"):
        sj.new_standard("S", angoff_dir=tmp_path / "b")


def test_apply_standard_raw_cut_and_decision_quality(tmp_path):
    std = tmp_path / "std.json"
    std.write_text('{"theta_cut": 0.0}')
    with pytest.raises(InputError, match="--decision-out needs --scores"):
        sj.apply_standard(None, str(std), params_file=_params_file(tmp_path), decision_table=True)
    applied = sj.apply_standard(None, str(std), params_file=_params_file(tmp_path), scores_file=_scores(tmp_path))
    assert applied.raw_cut == 2  # TCC(0) = 2.0 exactly: the smallest raw score reaching it is 2
    assert len(applied.decisions) > 0
    written = applied.write(tmp_path / "conv.csv", tmp_path / "dq.csv")
    assert [p.name for p in written] == ["conv.csv", "dq.csv"]
    assert pd.read_csv(tmp_path / "conv.csv")["raw"].tolist() == [0, 1, 2, 3, 4]
    assert applied.message().splitlines()[-1].startswith("Standard ")
    assert "pass at raw 2 of 4 (true score at the cut 2.00; rule at_least)" in applied.message()


def test_standard_across_bank_forms(tmp_path):
    bank = _StandardBank()
    bank.standards["S"] = {"theta_cut": 0.0, "details": {"source": {"se": 0.5}}}
    report = sj.standard_across_forms(bank, "S", ["F1"], scores_file=_scores(tmp_path))
    assert report.carried.raw_cuts == {"F1": 2} and report.raters is None
    assert report.message("w.xlsx") == "Wrote w.xlsx: raw cuts F1 2."


def test_score_against_standard_from_files(tmp_path):
    std = tmp_path / "std.json"
    std.write_text('{"theta_cut": 0.0}')
    scores = scoring.score_against_standard(None, _responses_file(tmp_path), standard=str(std),
                                       params_file=_params_file(tmp_path))
    assert scores.report["raw"].tolist() == [4, 1, 3]  # raw cut 2 (TCC(0) = 2)
    assert scores.report["result"].tolist() == ["pass", "fail", "pass"]
    assert "raw cut 2 of 4, 2 pass (66.7%)" in scores.message("o.csv")
    with pytest.raises(InputError, match="needs --standard"):
        scoring.score_against_standard(None, _responses_file(tmp_path), standard=None, params_file=_params_file(tmp_path))


def test_equate_linear_by_hand_and_irt_identity(tmp_path):
    x = _write(tmp_path, "x.csv", [{"score": s} for s in (0, 1, 2, 3, 4, 2)])
    y = _write(tmp_path, "y.csv", [{"score": s} for s in (1, 2, 3, 4, 4, 4)])
    job = equating_jobs.equate(None, "linear", x_path=x, y_path=y, max_x=4, max_y=4)
    sx, sy = np.std([0, 1, 2, 3, 4, 2]), np.std([1, 2, 3, 4, 4, 4])
    assert job.result.slope == pytest.approx(sy / sx)  # K&B 2014 eq. 2.5: l(x) = σY/σX (x − μX) + μY
    assert job.result.intercept == pytest.approx(np.mean([1, 2, 3, 4, 4, 4]) - sy / sx * 2.0)
    params = _params_file(tmp_path)
    irt = equating_jobs.equate(None, "irt_true_score", params_x=params, params_y=params)
    inner = irt.frame[(irt.frame.score > 0) & (irt.frame.score < 4)]
    assert inner["equated"].to_numpy() == pytest.approx(inner["score"].to_numpy(), abs=1e-6)
    with pytest.raises(InputError, match="needs --x, --max-y"):
        equating_jobs.equate(None, "linear", y_path=y, max_x=4)


def test_form_parameters_from_a_duck_typed_bank():
    params, p_values = parameter_files.form_parameters(_FakeBank(), "F1")
    assert isinstance(params, ItemParameters) and params.item_ids == tuple(ITEM_IDS)
    assert params.b.tolist() == B_VALUES and p_values.tolist() == [0.9, 0.6, 0.55, 0.3]
