"""The standard-setting workbook: the panel's ratings, the cut and its standard error, the impact table, the
raw cut and conversion table of every form, and decision consistency and accuracy.

Renders :class:`StandardReport`; computes nothing.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping, Sequence

import pandas as pd

from reports import charts
from reports import workbook as wbk


@dataclass(frozen=True)
class StandardReport:
    """``raters``: one row per rater (rater, raw cut, ...); ``cut``: named numbers (raw cut, SE, θ cut...);
    ``impact``: group, shift_se, cut, raw_cut, n, n_pass, pass_rate (a proportion: the sheet formats it as a
    percentage); ``impact_curve``: raw_cut and one pass-rate column (proportion) per group, headed in words, for
    the impact chart; ``cut_raw``: the recommended raw cut; ``forms``: form_id → conversion table
    (raw_score, theta, scaled, decision); ``form_cuts``: form_id, raw cut, θ cut; ``decision``: index,
    value, method."""

    title: str
    raters: pd.DataFrame
    cut: Mapping[str, object]
    impact: pd.DataFrame = field(default_factory=pd.DataFrame)
    impact_curve: pd.DataFrame = field(default_factory=pd.DataFrame)
    cut_raw: float | None = None
    form_cuts: pd.DataFrame = field(default_factory=pd.DataFrame)
    conversions: Mapping[str, pd.DataFrame] = field(default_factory=dict)
    decision: pd.DataFrame = field(default_factory=pd.DataFrame)
    sentences: Sequence[str] = ()
    settings: Mapping[str, object] = field(default_factory=dict)
    input_files: Sequence[str] = ()


#: Column headings for readers (the CSVs keep the field names).
HEADERS = {
    "rater_id": "Rater", "cut_raw": "Raw cut", "cut_percent": "Cut (% correct)",
    "reality_correlation": "Agreement with observed difficulty (r)", "outlier": "Outlier?",
    "group": "Candidates", "shift_se": "Cut moved by (SE)", "cut": "Cut (raw points)", "raw_cut": "Raw passing score",
    "n": "Candidates (N)", "n_pass": "Would pass", "pass_rate": "Pass rate",
    "form_id": "Form", "n_items": "Items", "percent_correct": "Cut (% correct)", "theta_cut": "θ cut",
    "raw_score": "Raw score", "theta": "θ", "scaled": "Scaled score", "decision": "Decision",
    "method": "Method", "accuracy": "Accuracy", "consistency": "Consistency", "kappa": "Kappa",
    "false_positive": "False pass", "false_negative": "False fail", "livingston_k2": "Livingston k²",
    "csem_lord_at_cut": "CSEM at the cut (raw points)", "reliability": "Reliability", "note": "Note",
    "index": "Index", "value": "Value",
}
#: Number formats by column: rates as percentages, counts as integers, cuts to one decimal.
FORMATS = {
    "cut_raw": "0.0", "cut_percent": "0.0", "reality_correlation": wbk.FORMATS["correlation"],
    "shift_se": '+0;-0;0', "cut": "0.0", "raw_cut": "0", "n": wbk.FORMATS["count"], "n_pass": wbk.FORMATS["count"],
    "pass_rate": wbk.FORMATS["percent"], "n_items": "0", "percent_correct": "0.0", "theta_cut": "0.000",
    "raw_score": "0", "theta": "0.000", "scaled": "0",
    "accuracy": wbk.FORMATS["percent"], "consistency": wbk.FORMATS["percent"], "kappa": "0.00",
    "false_positive": wbk.FORMATS["percent"], "false_negative": wbk.FORMATS["percent"], "livingston_k2": "0.00",
    "csem_lord_at_cut": "0.00", "reliability": "0.00", "value": "0.000",
}
#: Decision-quality methods by their authors' names.
METHODS = {"livingston_lewis": "Livingston–Lewis", "huynh": "Huynh", "subkoviak": "Subkoviak", "lee": "Lee",
           "rudner": "Rudner"}
#: What the decision-quality columns mean, printed under the table.
DECISION_NOTES = (
    "Accuracy: the share of candidates whose pass/fail decision agrees with their true status.",
    "Consistency: the share who would get the same decision on a second, parallel form.",
    "Kappa: consistency beyond what chance alone would give (0 = chance, 1 = perfect).",
    "False pass / false fail: the share who pass though truly below the standard / fail though truly above it.",
    "Livingston k²: reliability of the decision around the cut; CSEM: the measurement error at the cut.",
)


def _table(ws, frame: pd.DataFrame, row: int, note: str, **options):
    """A table with the headings and formats above, numbers in columns 14 wide under headings wrapped onto
    two lines, set up to print (header row repeated)."""
    widths = {c: 14 for c in frame.columns if pd.api.types.is_numeric_dtype(frame[c])}
    widths.update(options.pop("widths", {}))
    where = wbk.write_table_or_note(ws, wbk.words_frame(frame) if not frame.empty else frame, row, note,
                                    formats={c: f for c, f in FORMATS.items() if c in frame.columns},
                                    headers=HEADERS, widths=widths, **options)
    if where is not None:
        lines = max(wbk.wrapped_lines(HEADERS.get(c, str(c)), 0.8 * (ws.column_dimensions[
            wbk.get_column_letter(j + 1)].width or 8)) for j, c in enumerate(frame.columns))
        ws.row_dimensions[row].height = wbk.LINE_HEIGHT * max(lines, 1)
    wbk.print_fit(ws, header_row=row if where else None, repeat_cols=None)
    return where


def build_standard_workbook(report: StandardReport, path: str | Path, force: bool = False) -> Path:
    wbk.check_writable(path, force)
    wb = wbk.new_workbook(report.title, settings=report.settings, input_files=report.input_files)
    ws = wb.active
    ws.title = "Cut score"
    row = wbk.write_title(ws, report.title, "The recommended passing standard and how it was reached")
    row = wbk.write_sentences(ws, report.sentences, row, width=100)
    last = wbk.write_key_values(ws, report.cut, row, header="Quantity", formats={
        k: ("0.0" if "raw" in k.lower() or "percent" in k.lower() or "SD" in k or "error" in k else "0.000")
        for k in report.cut})
    ws.cell(row=row, column=2).value = "Value"
    ws.column_dimensions["A"].width, ws.column_dimensions["B"].width = 70, 40
    for r in range(row + 1, last + 1):
        cell = ws.cell(row=r, column=2)
        cell.alignment = wbk.WRAP
        if isinstance(cell.value, str) and wbk.wrapped_lines(cell.value, 40) > 1:
            ws.row_dimensions[r].height = wbk.LINE_HEIGHT * wbk.wrapped_lines(cell.value, 40)
    wbk.print_fit(ws, repeat_cols=None)

    rs = wb.create_sheet("Raters")
    row = wbk.write_title(rs, "Panel ratings", "Each rater's cut, and how well their ratings track the "
                          "items' observed difficulty (reality check)")
    _table(rs, report.raters, row, "No rater data were given (add the Angoff output folder to include them).")

    im = wb.create_sheet("Impact")
    row = wbk.write_title(im, "Impact", "Share of candidates who would pass at the cut and at ±1 and ±2 "
                          "standard errors of the cut")
    where = _table(im, report.impact, row, "No response data were given, so impact was not computed.")
    if where is not None and not report.impact_curve.empty:
        ic = wb.create_sheet("Impact chart")
        wbk.write_title(ic, "Impact chart", "How the share passing changes with the raw cut, for all candidates "
                        "and each language group")
        charts.impact_chart(ic, report.impact_curve, report.cut_raw)

    fc = wb.create_sheet("Forms")
    row = wbk.write_title(fc, "The same standard on every form", "Each form's raw cut is where its test "
                          "characteristic curve reaches the θ cut")
    _table(fc, report.form_cuts, row, "The standard was not carried to any form.")
    for form_id, table in report.conversions.items():
        sheet = wb.create_sheet(f"Conversion {form_id}"[:31])
        r = wbk.write_title(sheet, f"Score conversion, form {form_id}", "Raw score → θ → scaled score → decision")
        first, last = _table(sheet, table, r, "No conversion table.")
        if "decision" in table.columns:
            wbk.highlight_rows(sheet, first, last, len(table.columns), list(table.columns).index("decision") + 1,
                               {"pass": wbk.GOOD_FILL}, exact=True)

    dq = wb.create_sheet("Decision quality")
    row = wbk.write_title(dq, "Decision consistency and accuracy", "How often the pass/fail decision would be "
                          "the same on a second form (consistency) and agree with the true status (accuracy)")
    decision = report.decision
    if "method" in decision.columns:
        decision = decision.assign(method=decision["method"].map(lambda m: METHODS.get(m, m)))
    where = _table(dq, decision, row, "Decision indices were not computed.", widths={"note": 60},
                   wrap=("note",))
    if where is not None:
        r = where[1] + 2
        for line in DECISION_NOTES:
            wbk.write_cell(dq, r, 1, line)
            r += 1
    return wbk.save_atomic(wb, path, force=force)
