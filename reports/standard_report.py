"""The standard-setting workbook: the panel's ratings, the cut and its standard error, the impact table, the
raw cut and conversion table of every form, and decision consistency and accuracy.

Renders :class:`StandardReport`; computes nothing.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping, Sequence

import pandas as pd

from reports import workbook as wbk


@dataclass(frozen=True)
class StandardReport:
    """``raters``: one row per rater (rater, raw cut, ...); ``cut``: named numbers (raw cut, SE, θ cut...);
    ``impact``: cut label, raw cut, pass rate overall and by group; ``forms``: form_id → conversion table
    (raw_score, theta, scaled, decision); ``form_cuts``: form_id, raw cut, θ cut; ``decision``: index,
    value, method."""

    title: str
    raters: pd.DataFrame
    cut: Mapping[str, object]
    impact: pd.DataFrame = field(default_factory=pd.DataFrame)
    form_cuts: pd.DataFrame = field(default_factory=pd.DataFrame)
    conversions: Mapping[str, pd.DataFrame] = field(default_factory=dict)
    decision: pd.DataFrame = field(default_factory=pd.DataFrame)
    sentences: Sequence[str] = ()
    settings: Mapping[str, object] = field(default_factory=dict)
    input_files: Sequence[str] = ()


def build_standard_workbook(report: StandardReport, path: str | Path, force: bool = False) -> Path:
    wbk.check_writable(path, force)
    wb = wbk.new_workbook(report.title, settings=report.settings, input_files=report.input_files)
    ws = wb.active
    ws.title = "Cut score"
    row = wbk.write_title(ws, report.title, "The recommended passing standard and how it was reached")
    row = wbk.write_sentences(ws, report.sentences, row)
    wbk.write_key_values(ws, report.cut, row, header="quantity")

    rs = wb.create_sheet("Raters")
    row = wbk.write_title(rs, "Panel ratings", "Each rater's cut, and how well their ratings track the "
                          "items' observed difficulty (reality check)")
    wbk.write_table_or_note(rs, report.raters, row, "No rater data were given (add the Angoff output folder to "
                            "include them).", formats={c: "0.00" for c in report.raters.columns if c != "rater_id"})

    im = wb.create_sheet("Impact")
    row = wbk.write_title(im, "Impact", "Share of candidates who would pass at the cut and at ±1 and ±2 "
                          "standard errors of the cut")
    wbk.write_table_or_note(im, report.impact, row, "No response data were given, so impact was not computed.",
                            formats={c: wbk.FORMATS["percent"] for c in report.impact.columns if "pass" in str(c)})

    fc = wb.create_sheet("Forms")
    row = wbk.write_title(fc, "The same standard on every form", "Each form's raw cut is where its test "
                          "characteristic curve reaches the θ cut")
    if not report.form_cuts.empty:
        row = wbk.write_table(fc, report.form_cuts, start_row=row, freeze=False, autofilter=False)[1] + 2
    for form_id, table in report.conversions.items():
        sheet = wb.create_sheet(f"Conversion {form_id}"[:31])
        r = wbk.write_title(sheet, f"Score conversion, form {form_id}", "Raw score → θ → scaled score → decision")
        first, last = wbk.write_table(sheet, table, start_row=r, formats={"theta": "0.000", "scaled": "0"})
        if "decision" in table.columns:
            wbk.highlight_rows(sheet, first, last, len(table.columns), list(table.columns).index("decision") + 1,
                               {"pass": wbk.GOOD_FILL}, exact=True)

    dq = wb.create_sheet("Decision quality")
    row = wbk.write_title(dq, "Decision consistency and accuracy", "How often the pass/fail decision would be "
                          "the same on a second form (consistency) and agree with the true status (accuracy)")
    wbk.write_table_or_note(dq, report.decision, row, "Decision indices were not computed.",
                            formats={"value": "0.000"}, widths={"note": 80}, wrap=("note",))
    return wbk.save_atomic(wb, path, force=force)
