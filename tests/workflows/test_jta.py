"""The job analysis end to end: a simulated survey with known true weights, the derived blueprint assembling
forms from the sample bank, the survey template, and every bad input as one sentence, exit 2, nothing written."""
import json

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from openpyxl import load_workbook

from certbank_core.errors import InputError
from certbank_core.files import sha256_of
from cli import main
from itembank.sample_loader import create_sample_bank
from itembank.store import Bank
from psychometrics.jta import allocate_items
from tests.workflows.jta_helpers import NOT_PERFORMED, SHIFTED, simulated_frame
from workflows.assembly import check_blueprint_file
from workflows.jta import analyze_survey


@pytest.fixture(scope="module")
def sample(tmp_path_factory):
    root = tmp_path_factory.mktemp("jta")
    bank_path = root / "bank.db"
    create_sample_bank(bank_path)
    with Bank.open(bank_path) as bank:
        framework = bank.get_framework("SAMHSA")
    frame, truth = simulated_frame(framework)
    survey = root / "survey.csv"
    frame.to_csv(survey, index=False)
    return {"root": root, "bank": bank_path, "framework": framework, "frame": frame, "truth": truth,
            "survey": survey}


@pytest.fixture(scope="module")
def analysed(sample):
    out, bp = sample["root"] / "out", sample["root"] / "derived.toml"
    with Bank.open(sample["bank"]) as bank:
        outcome = analyze_survey(bank, sample["survey"], "SAMHSA", out, blueprint_out=bp, today="2026-12-01")
    return {"out": out, "blueprint": bp, "outcome": outcome}


def test_simulated_survey_recovers_the_true_weights_and_excludes_the_rarely_performed(sample, analysed):
    areas = pd.read_csv(analysed["out"] / "areas.csv")
    assert np.max(np.abs(areas["weight"].to_numpy() - sample["truth"])) < 0.01
    codes = [a.code for a in sample["framework"].areas]
    true_counts = allocate_items(sample["truth"], codes, 120, minimum=8, maximum=26).counts
    assert areas["proposed_count"].sum() == 120
    assert np.max(np.abs(areas["proposed_count"].to_numpy() - true_counts)) <= 1
    assert (areas["proposed_count"] >= 8).all()
    comps = pd.read_csv(analysed["out"] / "competencies.csv", keep_default_na=False)
    assert comps.loc[~comps["included"], "competency"].tolist() == [NOT_PERFORMED]
    row = comps.set_index("competency").loc[NOT_PERFORMED]
    assert row["not_performed"] > 0.7 and "do not perform it" in row["excluded_because"]
    summary = json.loads((analysed["out"] / "summary.json").read_text(encoding="utf-8"))
    assert summary["excluded"] == [NOT_PERFORMED]
    assert summary["survey_sha256"] == sha256_of(sample["survey"])
    assert summary["agreement"]["icc_2k_importance"] > 0.9
    assert sum(summary["counts"].values()) == 120


def test_the_planted_language_difference_is_the_one_flagged(analysed):
    subs = pd.read_csv(analysed["out"] / "subgroups.csv")
    flagged = subs[subs["flagged"] & (subs["rating"] == "criticality")]
    assert set(flagged["competency"]) == {SHIFTED}
    assert set(flagged["variable"]) == {"language"}
    assert set(subs["variable"]) == {"language", "setting", "experience"}


def test_derived_blueprint_has_provenance_passes_check_and_assembles(sample, analysed):
    text = analysed["blueprint"].read_text(encoding="utf-8")
    assert sha256_of(sample["survey"]) in text and "2026-12-01" in text and "Neustel 2006" in text
    assert "No state publishes peer-exam domain weights" not in text  # the hand-set rationale is replaced
    with Bank.open(sample["bank"]) as bank:
        report = check_blueprint_file(bank, analysed["blueprint"], n_forms=2, time_limit=20)
    assert report.feasible
    r = CliRunner().invoke(main, ["--bank", str(sample["bank"]), "blueprint", "check", str(analysed["blueprint"])])
    assert r.exit_code == 0, r.output


def test_board_workbook(analysed):
    wb = load_workbook(analysed["out"] / "jta_report.xlsx")
    assert wb.sheetnames == ["Summary", "Competencies", "Weights", "Subgroups"]
    assert wb["Weights"]._charts
    summary_text = " ".join(str(c.value) for c in wb["Summary"]["A"] if c.value)
    assert NOT_PERFORMED in summary_text and "practitioners" in summary_text


def test_a_longer_test_is_capped_at_what_the_bank_supplies(sample, tmp_path):
    with Bank.open(sample["bank"]) as bank:
        outcome = analyze_survey(bank, sample["survey"], "SAMHSA", tmp_path / "o", length=280, min_per_area=8)
    counts = outcome.summary["counts"]
    assert sum(counts.values()) == 280 and max(counts.values()) <= 26
    assert outcome.summary["capped_areas"]  # the heaviest areas want more than 26 items: a bank-growth finding
    assert any("bank-growth finding" in f for f in outcome.summary["findings"])


def test_template_workbook_and_csv_layout(sample, tmp_path):
    xlsx, csv = tmp_path / "survey.xlsx", tmp_path / "survey.csv"
    runner = CliRunner()
    for path in (xlsx, csv):
        r = runner.invoke(main, ["--bank", str(sample["bank"]), "jta", "template", str(path), "--framework", "SAMHSA"])
        assert r.exit_code == 0, r.output
    wb = load_workbook(xlsx)
    assert wb.sheetnames == ["Instructions", "Competencies", "Scales", "Responses"]
    header = [c.value for c in wb["Responses"][1]]
    assert header[:5] == ["respondent_id", "years", "setting", "region", "language"]
    assert len(header) == 5 + 2 * 62 and "importance:SAMHSA.IX.6" in header
    assert header == csv.read_text(encoding="utf-8").strip().split(",")
    comp = pd.read_excel(xlsx, sheet_name="Competencies", header=3, dtype=str, keep_default_na=False)
    assert len(comp) == 62 and (comp["area_title_es"] != "").all() and (comp["title_es"] == "").all()
    scales = " ".join(str(c.value) for row in wb["Scales"].iter_rows() for c in row if c.value)
    assert "Nunca: no lo realizo" in scales and "Essential for safe and effective practice" in scales
    r = runner.invoke(main, ["--bank", str(sample["bank"]), "jta", "template", str(xlsx), "--framework", "SAMHSA"])
    assert r.exit_code == 2 and "already exists" in r.output


def test_analyze_through_the_cli(sample, tmp_path):
    r = CliRunner().invoke(main, ["--bank", str(sample["bank"]), "jta", "analyze", str(sample["survey"]),
                                  "--framework", "SAMHSA", "--out", str(tmp_path / "o"), "--blueprint",
                                  str(tmp_path / "bp.toml"), "--length", "120", "--base", "default"])
    assert r.exit_code == 0, r.output
    assert "61 of 62 competencies included" in r.output
    assert (tmp_path / "bp.toml").exists() and (tmp_path / "o" / "jta_report.xlsx").exists()


def _broken(sample, tmp_path, change):
    frame = sample["frame"].copy().astype(object)
    change(frame)
    path = tmp_path / "bad.csv"
    frame.to_csv(path, index=False)
    return path


@pytest.mark.parametrize("change, message", [
    (lambda f: f.__setitem__("importance:SAMHSA.I.1", [7] + list(f["importance:SAMHSA.I.1"][1:])),
     "bad.csv, row 2, column 'importance:SAMHSA.I.1': '7' is not a rating on the importance scale"),
    (lambda f: f.insert(5, "frequency:SAMHSA.XIII.1", 1),
     "column 'frequency:SAMHSA.XIII.1': the competency SAMHSA.XIII.1 is not in framework SAMHSA"),
    (lambda f: f.loc.__setitem__((3, [c for c in f.columns if ":" in c]), ""),
     "bad.csv, row 5, column 'respondent_id': this respondent rated no competency"),
    (lambda f: f.__setitem__("setting", ["hospital"] * 5 + list(f["setting"][5:])),
     "column 'setting': the group 'hospital' has 5 respondents, fewer than the 30"),
    (lambda f: f.loc.__setitem__((0, "frequency:SAMHSA.II.3"), ""),
     "row 2, column 'frequency:SAMHSA.II.3': SAMHSA.II.3 is rated on one scale only"),
])
def test_bad_input_is_one_sentence_exit_2_nothing_written(sample, tmp_path, change, message):
    path = _broken(sample, tmp_path, change)
    out, bp = tmp_path / "o", tmp_path / "bp.toml"
    r = CliRunner().invoke(main, ["--bank", str(sample["bank"]), "jta", "analyze", str(path), "--framework",
                                  "SAMHSA", "--out", str(out), "--blueprint", str(bp)])
    assert r.exit_code == 2, r.output
    assert message in r.output
    assert "Traceback" not in r.output and len(r.output.strip().splitlines()) == 1
    assert not out.exists() and not bp.exists()


def test_unknown_framework_and_missing_file(sample, tmp_path):
    with Bank.open(sample["bank"]) as bank:
        with pytest.raises(InputError, match="the survey file does not exist"):
            analyze_survey(bank, tmp_path / "none.csv", "SAMHSA", tmp_path / "o")
    r = CliRunner().invoke(main, ["--bank", str(sample["bank"]), "jta", "template", str(tmp_path / "t.xlsx"),
                                  "--framework", "NOPE"])
    assert r.exit_code == 2 and "no framework 'NOPE'" in r.output


def test_a_filled_in_template_workbook_is_read(sample, tmp_path):
    xlsx = tmp_path / "filled.xlsx"
    CliRunner().invoke(main, ["--bank", str(sample["bank"]), "jta", "template", str(xlsx), "--framework", "SAMHSA"])
    wb = load_workbook(xlsx)
    ws = wb["Responses"]
    header = [c.value for c in ws[1]]
    frame = sample["frame"].head(60)[header]
    for i, row in enumerate(frame.itertuples(index=False), start=2):
        for j, value in enumerate(row, start=1):
            ws.cell(row=i, column=j, value=value.item() if hasattr(value, "item") else value)
    wb.save(xlsx)
    with Bank.open(sample["bank"]) as bank:
        outcome = analyze_survey(bank, xlsx, "SAMHSA", tmp_path / "o", subgroups=("language",), min_subgroup=10)
    assert outcome.summary["respondents"] == 60
    comps = pd.read_csv(tmp_path / "o" / "competencies.csv")
    first = frame["importance:SAMHSA.I.1"].astype(float)
    assert comps.loc[0, "importance_mean"] == pytest.approx(first.mean())
    assert comps.loc[0, "importance_sd"] == pytest.approx(first.std(ddof=1))


BASE = """# base
[exam]
name = "Tiny"
length = 20
framework = "X"

# hand-set weights: to be replaced
[[content.areas]]
code = "X.I"
count = 10

[[content.areas]]
code = "X.II"
count = 10   # keep this comment
"""


def test_derive_blueprint_text_replaces_counts_length_and_the_weights_comment():
    from workflows.jta import derive_blueprint_text

    text = derive_blueprint_text(BASE, {"X.I": 14, "X.II": 16}, 30, ["from the job analysis"])
    assert "hand-set weights" not in text and "# from the job analysis\n[[content.areas]]" in text
    assert 'code = "X.I"\ncount = 14' in text and "count = 16   # keep this comment" in text
    assert "length = 30" in text and text.startswith("# base\n")
    with pytest.raises(InputError, match="no count was replaced for X.III"):
        derive_blueprint_text(BASE, {"X.I": 10, "X.II": 10, "X.III": 10}, 30, [])


def test_summary_json_is_strict_json(analysed):
    json.loads((analysed["out"] / "summary.json").read_text(encoding="utf-8"),
               parse_constant=lambda name: pytest.fail(f"summary.json holds {name}"))


@pytest.mark.parametrize("options, message", [
    (["--length", "50"], "--min-per-area 8 asks for 96 items over the 12 areas, more than the test length 50."),
    (["--length", "400"], "The bank cannot supply this test: it holds only 312 eligible scored items"),
])
def test_impossible_lengths_are_one_sentence(sample, tmp_path, options, message):
    r = CliRunner().invoke(main, ["--bank", str(sample["bank"]), "jta", "analyze", str(sample["survey"]),
                                  "--framework", "SAMHSA", "--out", str(tmp_path / "o")] + options)
    assert r.exit_code == 2 and message in r.output and not (tmp_path / "o").exists()
    r = CliRunner().invoke(main, ["--bank", str(sample["bank"]), "jta", "analyze", str(sample["survey"]),
                                  "--framework", "SAMHSA", "--out", str(tmp_path / "o2"), "--no-bank-cap",
                                  "--length", "400"])
    assert r.exit_code == 0, r.output
