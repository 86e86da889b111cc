"""`certbank demo` end to end: every output is written, the planted problems appear in the Flags and DIF
sheets, and a second run refuses to replace the outputs without --force."""
import json

import pandas as pd
import pytest
from click.testing import CliRunner
from openpyxl import load_workbook

from cli import main
from itembank.store import Bank


@pytest.fixture(scope="module")
def demo(demo_result):
    return demo_result


def test_demo_finds_every_planted_problem(demo):
    kinds = {p.kind: p for p in demo.planted}
    assert set(kinds) == {"miskey", "too easy", "Spanish DIF", "non-functioning distractor"}
    assert all(p.found for p in demo.planted), demo.summary()
    assert demo.seconds < 60


def test_both_years_match_the_simulation_truth(demo):
    """The cycle works: each year's raw cut within 1 point of the truth, pass rate within 2 points of the true
    share, the planted drifted anchor released, year 2 anchored to year 1 and calibrated onto one bank scale."""
    year1, year2 = demo.years
    for year in demo.years:
        assert abs(year.raw_cut - year.true_raw_cut) <= 1, demo.summary()
        # The raw cut is ⌈TCC(θ_cut)⌉: rounding up moves it 0–1 point above the θ cut, about 0–2.5 points of
        # pass rate near the middle of the distribution, so the observed rate runs below the θ share; the
        # 2-point rule of the recovery study (tests/workflows/test_program_cycle.py, 2PL) holds there, and the
        # demo's 3PL form with planted problems is held to 3.
        assert -0.03 <= year.pass_rate - year.true_pass_share <= 0.01, demo.summary()
    assert year2.mean == 0.4 and year2.pass_rate > year1.pass_rate  # an abler year passes more, same standard
    assert any("caught by the drift check" in n for n in year2.notes), demo.summary()
    with Bank.open(demo.outdir / "certbank.db", user="t") as bank:
        sets = bank.parameter_sets()
        assert list(sets["method"]) == ["free", "stocking-lord", "stocking-lord"]
        assert list(sets["administration_id"].fillna("")) == ["", "DEMO-Y1", "DEMO-Y2"]
        a = set(bank.get_form("DEMO-A").scored_item_ids)
        y2 = bank.get_form(year2.form_id)
        assert len(a & set(y2.scored_item_ids)) >= 24 and sum(fi.is_pretest for fi in y2.items) == 10
    equating = pd.read_csv(demo.outdir / "equating-year-2.csv").set_index("method")
    assert (equating["new_raw_cut"] - year2.true_raw_cut).abs().max() <= 2


def test_flags_show_each_items_p_by_administration(demo):
    wb = load_workbook(demo.outdir / "item-analysis.xlsx")
    ws = wb["Flags"]
    head = next(r for r in range(1, 10) if ws.cell(row=r, column=1).value == "Item")
    header = [c.value for c in ws[head]]
    col = header.index("P by administration") + 1
    values = [ws.cell(row=r, column=col).value or "" for r in range(head + 1, ws.max_row + 1)]
    assert values and all(v.startswith("DEMO-Y1 ") for v in values if v)
    # items on both years' forms show both administrations, oldest first
    assert any("DEMO-Y1" in v and "DEMO-Y2" in v and v.index("DEMO-Y1") < v.index("DEMO-Y2") for v in values)


def test_demo_writes_every_output(demo):
    expected = {"certbank.db", "responses-form-A.csv", "ratings.csv", "item-analysis.xlsx", "standard-setting.xlsx",
                "form-DEMO-A.xlsx", "form-DEMO-B.xlsx", "scores-form-A.csv", "calibration-year-1/params.csv", "dif.csv",
                "form-DEMO-Y2-A.xlsx", "responses-year-2.csv", "calibration-year-2/anchors.csv",
                "conversion-year-2.csv", "equating-year-2.csv", "scores-year-2.csv",
                "analysis/items.csv", "analysis/options.csv", "analysis/quantiles.csv", "analysis/test.json",
                "analysis/flags.csv"}
    assert expected <= set(demo.files)
    test = json.loads((demo.outdir / "analysis" / "test.json").read_text())
    assert test["combined"]["n"] == 3000


def _sheet_rows(ws):
    header = next(r for r in range(1, 10) if ws.cell(row=r, column=1).value in ("Item", "Rank"))
    names = [c.value for c in ws[header]]
    return [dict(zip(names, (c.value for c in row))) for row in ws.iter_rows(min_row=header + 1)]


def test_planted_problems_show_in_the_workbook(demo):
    wb = load_workbook(demo.outdir / "item-analysis.xlsx")
    by_item = {}
    for r in _sheet_rows(wb["Flags"]):
        by_item.setdefault(r["Item"], []).append(r)
    planted = {p.kind: p.item_id for p in demo.planted}
    assert any("KEY" in r["Flag code"] and r["Suggested action"] == "check key" for r in by_item[planted["miskey"]])
    assert any(r["Flag code"] == "P_HIGH" and r["Severity"] == "severe" for r in by_item[planted["too easy"]])
    assert any(r["Flag code"] == "NONFUNCTIONING_DISTRACTOR" for r in by_item[planted["non-functioning distractor"]])
    assert any(r["Flag code"].startswith("DIF") and r["Holds for"] == "Spanish takers"
               for r in by_item[planted["Spanish DIF"]])
    actions = _sheet_rows(wb["Action list"])
    first = {r["Item"]: r for r in actions[:6]}
    assert first[planted["miskey"]]["Action"] == "check key" and actions[0]["Item"] == planted["miskey"]
    assert planted["too easy"] in first and planted["Spanish DIF"] in first
    assert first[planted["Spanish DIF"]]["The problem"].startswith("Spanish takers only")
    dif = wb["DIF"]
    head = next(r for r in range(1, 10) if dif.cell(row=r, column=1).value == "Item")
    cols = [c.value for c in dif[head]]
    row = next(r for r in range(head + 1, dif.max_row + 1) if dif.cell(row=r, column=1).value == planted["Spanish DIF"])
    assert dif.cell(row=row, column=cols.index("ETS class") + 1).value == "C"
    assert dif.cell(row=row, column=cols.index("Spanish text") + 1).value  # the two versions side by side
    assert dif.cell(row=row, column=cols.index("English text") + 1).value


def test_standard_is_carried_to_form_b(demo):
    wb = load_workbook(demo.outdir / "standard-setting.xlsx")
    assert {"Conversion DEMO-A", "Conversion DEMO-B"} <= set(wb.sheetnames)
    assert set(demo.raw_cuts) == {"DEMO-A", "DEMO-B"}
    assert all(40 < c < 110 for c in demo.raw_cuts.values())


def test_second_run_refuses_without_force_and_cli_exit_code(demo):
    before = (demo.outdir / "item-analysis.xlsx").read_bytes()
    result = CliRunner().invoke(main, ["demo", str(demo.outdir)])
    assert result.exit_code == 2
    assert "already holds demo outputs" in result.output and "--force" in result.output
    assert (demo.outdir / "item-analysis.xlsx").read_bytes() == before


def test_standard_report_from_the_demo_bank(demo, tmp_path):
    out = tmp_path / "std.xlsx"
    args = ["--bank", str(demo.outdir / "certbank.db"), "standard", "report", "peer-support", "--form", "DEMO-A",
            "--form", "DEMO-B", "--out", str(out)]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    wb = load_workbook(out)
    forms = wb["Forms"]
    head = next(r for r in range(1, 10) if forms.cell(row=r, column=1).value == "Form")
    cuts = {forms.cell(row=r, column=1).value: forms.cell(row=r, column=3).value for r in (head + 1, head + 2)}
    assert cuts == demo.raw_cuts
    assert "No rater data" in wb["Raters"]["A4"].value


def test_analyze_report_on_the_demo_administration(demo, tmp_path):
    out, report = tmp_path / "analysis", tmp_path / "ia.xlsx"
    args = ["--bank", str(demo.outdir / "certbank.db"), "analyze", str(demo.outdir / "responses-form-A.csv"),
            "--form", "DEMO-A", "--group", "language", "--out", str(out), "--report", str(report), "--irt", "2pl"]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    wb = load_workbook(report)
    irt = wb["IRT"]
    head = next(r for r in range(1, 10) if irt.cell(row=r, column=1).value == "Item")
    assert irt.max_row - head == 130  # every item on the form, the 10 pretest items included (calibrated for promotion)
    assert [c.value for c in irt[head]][1:4] == ["a (slope)", "b (difficulty)", "c (guessing)"]
    planted = {p.kind: p.item_id for p in demo.planted}
    dif_items = [c.value for c in wb["DIF"]["A"]]
    assert planted["Spanish DIF"] in dif_items
    # a second run without --force refuses before writing anything, even the CSV folder
    out2 = tmp_path / "analysis2"
    args[args.index(str(out))] = str(out2)
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 2 and "already exists" in result.output
    assert not out2.exists()


def test_form_workbook_shows_conformance_and_target_bands(demo):
    wb = load_workbook(demo.outdir / "form-DEMO-A.xlsx")
    conf = wb["Conformance"]
    head = next(r for r in range(1, 10) if conf.cell(row=r, column=1).value == "Rule")
    cols = [c.value for c in conf[head]]
    rows = [[c.value for c in row] for row in conf.iter_rows(min_row=head + 1)]
    hard = [r for r in rows if r[cols.index("Binding")] == "required"]
    assert hard and all(r[cols.index("Met?")] == "yes" for r in hard)
    messages = [r[cols.index("What was checked")] for r in rows if r[cols.index("What was checked")]]
    assert "DEMO A lists no item more than once." in messages and not any("  " in m for m in messages)
    assert "status published." in wb["Form map"]["A4"].value
    curves = wb["TIF and TCC"]
    header = [c.value for c in curves[3] if c.value]
    assert header.count("Target: lower") == 2 and header.count("Target: upper") == 2  # TIF and TCC bands
    assert len(curves._charts) == 2
    for chart in curves._charts:  # the band: two dashed lines (lower, upper) beside the form's own curve
        dashed = [s for s in chart.series if s.graphicalProperties.line.prstDash == "dash"]
        assert len(chart.series) == 3 and len(dashed) == 2
    assert wb["ANSWER KEY - SECURE"].sheet_properties.tabColor.rgb.endswith("C00000")
