"""Each workbook reopened with openpyxl and checked cell by cell against the frames it rendered."""
import numpy as np
import pandas as pd
import pytest
from openpyxl import load_workbook

from certbank_core.errors import InputError
from reports.form_report import FormReport, build_form_workbook
from reports.item_analysis import READ_ME, ItemAnalysisReport, build_item_analysis_workbook, summary_sentences
from reports.standard_report import StandardReport, build_standard_workbook


def _find_row(ws, text, column=1):
    for row in ws.iter_rows(min_col=column, max_col=column):
        if row[0].value == text:
            return row[0].row
    raise AssertionError(f"{text!r} not found on {ws.title}")


def _no_formulas(wb):
    for ws in wb.worksheets:
        for row in ws.iter_rows():
            for cell in row:
                assert cell.data_type != "f", f"{ws.title}!{cell.coordinate} holds a formula"


@pytest.fixture
def ia_report():
    items = pd.DataFrame({"item_id": ["PSS-0001", "PSS-0002", "=EVIL()"], "n": [100, 100, 98],
                          "p_value": [0.5, 0.95, 0.25], "point_biserial": [0.35, 0.05, -0.1],
                          "severity": ["", "severe", "critical"]})
    flags = pd.DataFrame({"item_id": ["PSS-0002", "=EVIL()", "=EVIL()"], "code": ["P_HIGH", "RPBIS_NEG", "KEY"],
                          "severity": ["severe", "critical", "critical"],
                          "reason": ["96% answered correctly.", "Negative discrimination.", "@check key"],
                          "suggested_action": ["revise", "check key", "check key"]})
    actions = pd.DataFrame({"rank": [1, 2], "item_id": ["=EVIL()", "PSS-0002"], "severity": ["critical", "severe"],
                            "action": ["check key", "revise"], "problem": ["@check key", "96% answered correctly."]})
    options = pd.DataFrame({"item_id": ["PSS-0001"] * 2, "option": ["A", "B"], "is_key": [True, False],
                            "n": [50, 50], "proportion": [0.5, 0.5], "point_biserial": [0.3, -0.3]})
    quant = pd.DataFrame({"item_id": ["PSS-0002"] * 6, "group": [1, 1, 2, 2, 3, 3], "option": ["A", "B"] * 3,
                          "proportion": [0.2, 0.8, 0.4, 0.6, 0.7, 0.3]})
    dist = pd.DataFrame({"raw_score": np.arange(4), "frequency": [10, 30, 40, 20]})
    info = pd.DataFrame({"theta": np.linspace(-3, 3, 7), "information": np.arange(1, 8.0)})
    info["csem"] = 1 / np.sqrt(info["information"])
    dif = pd.DataFrame({"item_id": ["PSS-0001"], "ets_class": ["C"], "delta_mh": [-1.8],
                        "stem_en": ["=cmd|' /C calc'!A0"], "stem_es": ["¿Qué haría usted?"]})
    return ItemAnalysisReport(title="Item analysis: test", summary={"n": 100, "n_items": 3, "mean": 1.7, "sd": 0.9,
                              "alpha": 0.81, "alpha_ci_low": 0.75, "alpha_ci_high": 0.86, "sem": 0.4, "cut": 2,
                              "pass_rate": 0.6},
                              items=items, options=options, quantiles=quant, flags=flags, dif=dif, actions=actions,
                              score_distribution=dist, information=info, n_by_group={"en": 70, "es": 30})


def test_item_analysis_workbook_sheets_values_and_safety(tmp_path, ia_report):
    path = build_item_analysis_workbook(ia_report, tmp_path / "ia.xlsx")
    wb = load_workbook(path)
    assert wb.sheetnames == ["Summary", "Action list", "Items", "Options", "Flags", "Domains", "DIF", "IRT", "Scores",
                             "Charts", "Read me"]
    _no_formulas(wb)
    items = wb["Items"]
    header = _find_row(items, "Item")
    assert [c.value for c in items[header]][:5] == ["Item", "N", "P", "Rpbis (item-rest)", "Worst flag"]
    assert items.cell(row=header + 3, column=1).value == "=EVIL()"
    assert items.cell(row=header + 1, column=3).number_format == "0.00"
    assert items.freeze_panes == f"A{header + 1}"
    assert len(items.conditional_formatting) >= 1
    summary = wb["Summary"]
    texts = [c.value for c in summary["A"] if c.value]
    assert summary.cell(row=_find_row(summary, "Pass rate"), column=2).number_format == "0.0%"
    assert summary.cell(row=_find_row(summary, "Reliability (KR-20 / coefficient alpha)"), column=2).value == 0.81
    assert "100 candidates answered 3 scored items (70 in English, 30 in Spanish)." in texts
    assert any("Reliability (KR-20) is 0.81 (95% CI 0.75–0.86)" in t for t in texts)
    assert texts[2].startswith("Before scores are released: =EVIL() (check key).")  # first paragraph: act first
    assert any("In all 2 items need a decision: 1 critical, 1 severe and 0 review" in t for t in texts)
    assert summary.cell(row=_find_row(summary, "  of which critical"), column=2).value == 1
    al = wb["Action list"]
    row = next(r for r in range(1, 20) if al.cell(row=r, column=2).value == "=EVIL()")
    assert (al.cell(row=row, column=3).value, al.cell(row=row, column=4).value) == ("critical", "check key")
    opts = wb["Options"]
    key_row = _find_row(opts, "PSS-0001")
    assert opts.cell(row=key_row, column=1).fill.fgColor.rgb.endswith("E2EFDA")
    assert opts.cell(row=key_row + 1, column=1).fill.fgColor.rgb in ("00000000", None)
    assert len(wb["Charts"]._charts) == 4  # distribution, information, CSEM, one flagged item's quantiles
    readme = wb["Read me"]
    assert readme.cell(row=_find_row(readme, "SEM"), column=2).value == dict(READ_ME)["SEM"]
    assert wb["DIF"].cell(row=_find_row(wb["DIF"], "PSS-0001"), column=4).value == "=cmd|' /C calc'!A0"
    assert "Run the IRT" not in wb["IRT"]["A4"].value and "IRT calibration was not run." == wb["IRT"]["A4"].value


def test_summary_sentence_verdict_depends_on_alpha(ia_report):
    low = ItemAnalysisReport(title="t", summary={**ia_report.summary, "alpha": 0.62}, items=ia_report.items)
    assert any("falls short of the usual .80" in s for s in summary_sentences(low))
    assert any("meets the usual .80" in s for s in summary_sentences(ia_report))


def test_item_analysis_workbook_refuses_overwrite_and_leaves_file(tmp_path, ia_report):
    target = tmp_path / "ia.xlsx"
    target.write_bytes(b"old")
    with pytest.raises(InputError, match="already exists"):
        build_item_analysis_workbook(ia_report, target)
    assert target.read_bytes() == b"old"


def test_form_workbook_booklets_key_sheet_and_conformance(tmp_path):
    fm = pd.DataFrame({"position": [1, 2], "item_id": ["PSS-0001", "PSS-0002"], "version": [1, 2],
                       "area": ["SAMHSA.I", "SAMHSA.II"], "key": ["B", "D"], "p_value": [0.61, 0.72]})
    conf = pd.DataFrame({"rule": ["Category I count", "Key A count"], "form": ["F1", "F1"],
                         "required": ["1", "0–1"], "actual": [1, 2], "ok": [True, False]})
    booklet_en = pd.DataFrame({"position": [1, 2], "item_id": ["PSS-0001", "PSS-0002"],
                               "stem": ["What helps?", "=1+1 is shown as text"],
                               "option_a": ["a1", "a2"], "option_b": ["b1", "b2"], "option_c": ["c1", None],
                               "option_d": ["d1", None]})
    booklet_es = booklet_en.assign(stem=["¿Qué ayuda?", "Señal"])
    curves = pd.DataFrame({"theta": [-1.0, 0.0, 1.0], "tif": [10.0, 14.0, 9.0], "tif_target": [9.0, 13.0, 9.0],
                           "tcc": [40.0, 60.0, 80.0], "tcc_target": [41.0, 60.0, 79.0]})
    rep = FormReport(form_id="F1", title="Form F1", form_map=fm, conformance=conf, curves=curves,
                     booklets={"en": booklet_en, "es": booklet_es},
                     key_distribution=pd.DataFrame({"key": ["B", "D"], "count": [1, 1]}))
    wb = load_workbook(build_form_workbook(rep, tmp_path / "form.xlsx"))
    assert wb.sheetnames == ["Form map", "Conformance", "TIF and TCC", "Key distribution", "Booklet en",
                             "Booklet es", "ANSWER KEY - SECURE"]
    _no_formulas(wb)
    conf_ws = wb["Conformance"]
    r = _find_row(conf_ws, "Key A count")
    assert conf_ws.cell(row=r, column=1).fill.fgColor.rgb.endswith("FFC7CE")
    assert conf_ws.cell(row=r - 1, column=1).fill.fgColor.rgb.endswith("C6EFCE")
    en = [c.value for c in wb["Booklet en"]["B"] if c.value]
    assert en[:5] == ["What helps?", "A. a1", "B. b1", "C. c1", "D. d1"]
    assert "=1+1 is shown as text" in en and "C. None" not in en
    assert "¿Qué ayuda?" in [c.value for c in wb["Booklet es"]["B"]]
    key = wb["ANSWER KEY - SECURE"]
    assert [key.cell(row=_find_row(key, i), column=4).value for i in (1, 2)] == ["B", "D"]
    assert all("key" not in str(c.value).lower() for c in wb["Booklet en"]["B"] if c.value)
    assert len(wb["TIF and TCC"]._charts) == 2


def test_standard_workbook(tmp_path):
    raters = pd.DataFrame({"rater": ["R1", "R2"], "raw_cut": [70.2, 74.8], "r_with_p": [0.55, 0.41]})
    conv = pd.DataFrame({"raw_score": [0, 1, 2], "theta": [-3.0, 0.1, 2.0], "scaled": [200, 480, 800],
                         "decision": ["fail", "fail", "pass"]})
    rep = StandardReport(title="Standard", raters=raters, cut={"raw cut (mean of raters)": 72.5, "SE": 2.3},
                         impact=pd.DataFrame({"cut": ["at the cut"], "raw_cut": [73], "pass_rate": [0.71]}),
                         form_cuts=pd.DataFrame({"form_id": ["F1", "F2"], "raw_cut": [73, 71]}),
                         conversions={"F1": conv}, sentences=["The panel recommends 73 of 120."],
                         decision=pd.DataFrame({"index": ["accuracy"], "value": [0.91], "method": ["Rudner"],
                                                "note": ["x"]}))
    wb = load_workbook(build_standard_workbook(rep, tmp_path / "std.xlsx"))
    assert wb.sheetnames == ["Cut score", "Raters", "Impact", "Forms", "Conversion F1", "Decision quality"]
    _no_formulas(wb)
    cut_ws = wb["Cut score"]
    assert cut_ws.cell(row=_find_row(cut_ws, "SE"), column=2).value == 2.3
    imp = wb["Impact"]
    r = _find_row(imp, "at the cut")
    assert imp.cell(row=r, column=3).value == 0.71 and imp.cell(row=r, column=3).number_format == "0.0%"
    assert wb["Conversion F1"].cell(row=_find_row(wb["Conversion F1"], 2), column=4).value == "pass"
