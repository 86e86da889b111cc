"""The form workbook: form map, blueprint conformance, TIF/TCC against targets, key distribution, and each
language's booklet with the answer key on its own, clearly marked sheet.

Renders :class:`FormReport` (frames built from an assembled form and its verification); computes nothing.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping, Sequence

import pandas as pd
from openpyxl.styles import Font

from reports import charts
from reports.booklet_report import write_questions
from reports import workbook as wbk



@dataclass(frozen=True)
class FormReport:
    """``form_map``: position, item_id, version, area, competency, key, (p_value, point_biserial, a, b, c).
    ``conformance``: rule, form, required, actual, ok (bool). ``curves``: theta, tif, tif_target, tcc,
    tcc_target (targets optional). ``booklets``: language → frame with position, item_id, stem,
    option_a…option_f. ``key_distribution``: key, count."""

    form_id: str
    title: str
    form_map: pd.DataFrame
    conformance: pd.DataFrame = field(default_factory=pd.DataFrame)
    curves: pd.DataFrame = field(default_factory=pd.DataFrame)
    booklets: Mapping[str, pd.DataFrame] = field(default_factory=dict)
    key_distribution: pd.DataFrame = field(default_factory=pd.DataFrame)
    sentences: Sequence[str] = ()
    settings: Mapping[str, object] = field(default_factory=dict)


#: Column headings for readers.
HEADERS = {"position": "Position", "item_id": "Item", "version": "Version", "pretest": "Pretest?", "area": "Area",
           "primary_competency": "Competency", "cognitive_level": "Cognitive level", "key": "Key",
           "p_value": "P (difficulty)", "point_biserial": "Discrimination (r)", "a": "a", "b": "b", "c": "c",
           "rule": "Rule", "kind": "Kind", "form": "Form", "required": "Required", "actual": "Actual",
           "ok": "Met?", "binding": "Binding", "message": "What was checked", "count": "Items"}


def build_form_workbook(report: FormReport, path: str | Path, force: bool = False) -> Path:
    wbk.check_writable(path, force)
    wb = wbk.new_workbook(report.title, settings={"form_id": report.form_id, **report.settings})
    ws = wb.active
    ws.title = "Form map"
    row = wbk.write_title(ws, report.title, f"Form {report.form_id}: one row per position")
    if report.sentences:
        for line in report.sentences:  # unwrapped: the text runs on across the empty cells to its right
            wbk.write_cell(ws, row, 1, line)
            row += 1
        row += 1
    fm = report.form_map
    formats = {c: wbk.FORMATS["proportion"] for c in ("p_value", "point_biserial") if c in fm.columns}
    formats.update({c: wbk.FORMATS["parameter"] for c in ("a", "b", "c") if c in fm.columns})
    widths = {c: 11 for c in formats}
    widths.update({"position": 9, "version": 8, "pretest": 9, "key": 5})
    wbk.write_table(ws, wbk.words_frame(fm), start_row=row, formats=formats, headers=HEADERS, widths=widths)
    ws.row_dimensions[row].height = 2 * wbk.LINE_HEIGHT
    wbk.print_fit(ws, header_row=row, repeat_cols="B:B")

    cs = wb.create_sheet("Conformance")
    row = wbk.write_title(cs, "Blueprint conformance", "Required against actual for every rule; green = met, "
                          "red = not met (checked independently of the solver)")
    conf = report.conformance
    if conf.empty:
        wbk.write_sentences(cs, ["No blueprint rules were recorded for this form."], row)
    else:
        first, last = wbk.write_table(cs, wbk.words_frame(conf), start_row=row, wrap=("rule", "message"),
                                      widths={"rule": 24, "message": 50, "form": 12}, headers=HEADERS)
        for r, ok in zip(range(first, last + 1), conf["ok"]):
            for c in range(1, len(conf.columns) + 1):
                cs.cell(row=r, column=c).fill = wbk.GOOD_FILL if bool(ok) else wbk.BAD_FILL
        wbk.print_fit(cs, header_row=row, repeat_cols=None)

    if not report.curves.empty:
        tc = wb.create_sheet("TIF and TCC")
        wbk.write_title(tc, "Test information and test characteristic curve", "This form against the "
                        "blueprint's target band (dashed: lower and upper bound)")
        anchors = charts.slot_anchors()
        col, n = charts.DATA_COL, 0
        for prefix, title, y_title in (("tif", "Test information", "Information"),
                                       ("tcc", "Test characteristic curve", "Expected raw score")):
            if prefix in report.curves.columns:
                col = charts.curve_with_band(tc, report.curves, prefix, title, y_title, col, next(anchors))
                n += 1
        charts.chart_page(tc, n)

    if not report.key_distribution.empty:
        kd = wb.create_sheet("Key distribution")
        row = wbk.write_title(kd, "Answer-key distribution", "How many items have each letter as the key")
        _, last = wbk.write_table(kd, report.key_distribution, start_row=row, freeze=False, autofilter=False,
                                  headers=HEADERS)
        wbk.bar_chart(kd, "Keys", "Key", "Items", (1, row, last), [(2, row, last)], "E3", width=12, height=7)
        for c in range(3, 13):  # the chart's columns, at an explicit width (an unset width reads as 13)
            kd.column_dimensions[wbk.get_column_letter(c)].width = 8
        kd.print_area = "A1:L20"
        wbk.print_fit(kd, orientation="portrait", repeat_cols=None)

    for lang, booklet in report.booklets.items():
        bs = wb.create_sheet(f"Booklet {lang}")
        name = wbk.LANGUAGE_NAMES.get(lang, lang)
        r = wbk.write_title(bs, f"{report.title}: {name} booklet", "Candidate booklet text (no answers shown)")
        write_questions(bs, booklet, r)
        wbk.print_fit(bs, orientation="portrait", repeat_cols=None)

    ks = wb.create_sheet("ANSWER KEY - SECURE")
    ks.sheet_properties.tabColor = "C00000"
    row = wbk.write_title(ks, "ANSWER KEY — SECURE MATERIAL", "Do not distribute with the booklets")
    ks.cell(row=1, column=1).font = Font(bold=True, size=14, color="C00000")
    key_frame = fm[[c for c in ("position", "item_id", "version", "key") if c in fm.columns]]
    wbk.write_table(ks, wbk.words_frame(key_frame), start_row=row, headers=HEADERS)
    wbk.print_fit(ks, header_row=row, orientation="portrait", repeat_cols=None)
    return wbk.save_atomic(wb, path, force=force)
