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

from reports import workbook as wbk

OPTION_LABELS = "ABCDEF"


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


BOOKLET_WIDTH = 100


def _fit_height(ws, row: int, text) -> None:
    lines = wbk.wrapped_lines(text, BOOKLET_WIDTH)
    if lines > 1:
        ws.row_dimensions[row].height = wbk.LINE_HEIGHT * lines


def build_form_workbook(report: FormReport, path: str | Path, force: bool = False) -> Path:
    wbk.check_writable(path, force)
    wb = wbk.new_workbook(report.title, settings={"form_id": report.form_id, **report.settings})
    ws = wb.active
    ws.title = "Form map"
    row = wbk.write_title(ws, report.title, f"Form {report.form_id}: one row per position")
    if report.sentences:
        row = wbk.write_sentences(ws, report.sentences, row)
    fm = report.form_map
    formats = {c: wbk.FORMATS["proportion"] for c in ("p_value", "point_biserial") if c in fm.columns}
    formats.update({c: wbk.FORMATS["parameter"] for c in ("a", "b", "c") if c in fm.columns})
    wbk.write_table(ws, fm, start_row=row, formats=formats)

    cs = wb.create_sheet("Conformance")
    row = wbk.write_title(cs, "Blueprint conformance", "Required against actual for every rule; green = met, "
                          "red = not met (checked independently of the solver)")
    conf = report.conformance
    if conf.empty:
        wbk.write_sentences(cs, ["No blueprint rules were recorded for this form."], row)
    else:
        first, last = wbk.write_table(cs, conf, start_row=row, wrap=("rule",), widths={"rule": 50})
        ok_col = list(conf.columns).index("ok") + 1
        for r in range(first, last + 1):
            fill = wbk.GOOD_FILL if cs.cell(row=r, column=ok_col).value else wbk.BAD_FILL
            for c in range(1, len(conf.columns) + 1):
                cs.cell(row=r, column=c).fill = fill

    if not report.curves.empty:
        tc = wb.create_sheet("TIF and TCC")
        wbk.write_title(tc, "Test information and test characteristic curve", "This form against its targets")
        cur = report.curves
        _, last = wbk.write_table(tc, cur, start_row=3, start_col=20, freeze=False, autofilter=False,
                                  formats={c: "0.000" for c in cur.columns})
        cols = list(cur.columns)
        for prefix, title, y_title, anchor in (("tif", "Test information", "Information", "A3"),
                                               ("tcc", "Test characteristic curve", "Expected raw score", "A22")):
            names = [c for c in cols if c.startswith(prefix)]
            if not names:
                continue
            chart = wbk.line_chart(tc, f"{title} (target band as markers)", "θ", y_title, (20, 3, last),
                                   [(20 + cols.index(c), 3, last) for c in names], anchor)
            for series, name in zip(chart.series, names):
                if "target" in name:  # the band is given at a few θ points: markers, no line
                    series.marker.symbol = "dash"
                    series.marker.size = 12
                    series.graphicalProperties.line.noFill = True
        tc.print_area = "A1:R42"  # print the charts, not the numbers behind them

    if not report.key_distribution.empty:
        kd = wb.create_sheet("Key distribution")
        row = wbk.write_title(kd, "Answer-key distribution", "How many items have each letter as the key")
        _, last = wbk.write_table(kd, report.key_distribution, start_row=row, freeze=False, autofilter=False)
        wbk.bar_chart(kd, "Keys", "Key", "Items", (1, row, last), [(2, row, last)], "E3", width=12, height=7)

    for lang, booklet in report.booklets.items():
        bs = wb.create_sheet(f"Booklet {lang}")
        name = wbk.LANGUAGE_NAMES.get(lang, lang)
        r = wbk.write_title(bs, f"{report.title}: {name} booklet", "Candidate booklet text (no answers shown)")
        bs.column_dimensions["A"].width = 6
        bs.column_dimensions["B"].width = BOOKLET_WIDTH
        for rec in booklet.itertuples(index=False):
            rec = rec._asdict()
            wbk.write_cell(bs, r, 1, rec["position"]).alignment = wbk.WRAP
            stem = wbk.write_cell(bs, r, 2, rec["stem"])
            stem.alignment = wbk.WRAP
            stem.font = Font(bold=True)
            _fit_height(bs, r, rec["stem"])
            r += 1
            for label in OPTION_LABELS:
                text = rec.get(f"option_{label.lower()}")
                if text is None or text == "" or (isinstance(text, float) and text != text):
                    continue
                wbk.write_cell(bs, r, 2, f"{label}. {text}").alignment = wbk.WRAP
                _fit_height(bs, r, f"{label}. {text}")
                r += 1
            r += 1
        wbk.print_setup(bs)
        bs.page_setup.orientation = "portrait"

    ks = wb.create_sheet("ANSWER KEY - SECURE")
    ks.sheet_properties.tabColor = "C00000"
    row = wbk.write_title(ks, "ANSWER KEY — SECURE MATERIAL", "Do not distribute with the booklets")
    ks.cell(row=1, column=1).font = Font(bold=True, size=14, color="C00000")
    key_frame = fm[[c for c in ("position", "item_id", "version", "key") if c in fm.columns]]
    wbk.write_table(ks, key_frame, start_row=row)
    return wbk.save_atomic(wb, path, force=force)
