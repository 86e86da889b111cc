"""The job-analysis workbooks: the survey template practitioners fill in, and the report for the board.

Renders :class:`SurveyTemplate` and :class:`JtaReport`; computes nothing.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping, Sequence

import pandas as pd
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.datavalidation import DataValidation

from reports import workbook as wbk

#: Rows of the Responses sheet that get the rating scales' data validation.
VALIDATED_ROWS = 2000


@dataclass(frozen=True)
class SurveyTemplate:
    """``competencies``: code, area, titles en/es; ``scales``: scale, point, label_en, label_es;
    ``background``: column, question_en, question_es; ``columns``: the Responses header; ``scale_max``:
    scale name → top point (ratings columns are '<scale>:<code>')."""

    title: str
    instructions: Sequence[str]
    competencies: pd.DataFrame
    scales: pd.DataFrame
    background: pd.DataFrame
    columns: Sequence[str]
    scale_max: Mapping[str, int]
    settings: Mapping[str, object] = field(default_factory=dict)


def build_survey_template(t: SurveyTemplate, path: str | Path, force: bool = False) -> Path:
    wbk.check_writable(path, force)
    wb = wbk.new_workbook(t.title, settings=t.settings)
    ws = wb.active
    ws.title = "Instructions"
    row = wbk.write_title(ws, t.title, "Encuesta de análisis del puesto / Job analysis survey")
    wbk.write_sentences(ws, t.instructions, row)

    cs = wb.create_sheet("Competencies")
    row = wbk.write_title(cs, "Competencies / Competencias", "Spanish competency titles are left blank for the "
                          "program's translators / Los títulos en español de las competencias quedan para los "
                          "traductores del programa")
    wbk.write_table(cs, t.competencies, start_row=row, wrap=("area_title_en", "area_title_es", "title_en", "title_es"),
                    widths={"area_title_en": 40, "area_title_es": 40, "title_en": 60, "title_es": 60})

    ss = wb.create_sheet("Scales")
    row = wbk.write_title(ss, "Rating scales / Escalas de calificación",
                          "Rate every competency on both scales / Califique cada competencia en ambas escalas")
    last = wbk.write_table(ss, t.scales, start_row=row, freeze=False, autofilter=False,
                           widths={"label_en": 45, "label_es": 45})[1]
    wbk.write_table(ss, t.background, start_row=last + 3, freeze=False, autofilter=False,
                    widths={"question_en": 60, "question_es": 60}, wrap=("question_en", "question_es"))

    rs = wb.create_sheet("Responses")
    wbk.write_table(rs, pd.DataFrame(columns=list(t.columns)), start_row=1)
    for scale, top in t.scale_max.items():
        dv = DataValidation(type="whole", operator="between", formula1="0", formula2=str(top), allow_blank=True,
                            showErrorMessage=True, errorTitle="Rating", error=f"{scale}: a whole number 0-{top}")
        letters = [get_column_letter(j + 1) for j, c in enumerate(t.columns) if c.startswith(f"{scale}:")]
        if letters:
            for c in letters:
                dv.add(f"{c}2:{c}{VALIDATED_ROWS}")
            rs.add_data_validation(dv)
    return wbk.save_atomic(wb, path, force=force)


@dataclass(frozen=True)
class JtaReport:
    """``competencies``: one row per competency (statistics, included, reason); ``areas``: area, label,
    current and proposed counts, weight; ``subgroups``: the comparisons (flagged ones first); ``key_numbers``:
    named numbers for the summary sheet."""

    title: str
    sentences: Sequence[str]
    key_numbers: Mapping[str, object]
    competencies: pd.DataFrame
    areas: pd.DataFrame
    subgroups: pd.DataFrame
    settings: Mapping[str, object] = field(default_factory=dict)
    input_files: Sequence[str] = ()


_TWO = {c: "0.00" for c in ("importance_mean", "importance_sd", "frequency_mean", "frequency_sd", "criticality",
                            "rwg_importance", "mean_group", "mean_rest", "hedges_g", "quota", "rwg_j_importance")}


def build_jta_workbook(r: JtaReport, path: str | Path, force: bool = False) -> Path:
    wbk.check_writable(path, force)
    wb = wbk.new_workbook(r.title, settings=r.settings, input_files=r.input_files)
    ws = wb.active
    ws.title = "Summary"
    row = wbk.write_title(ws, r.title, "What the practitioners said and what it means for the blueprint")
    row = wbk.write_sentences(ws, r.sentences, row)
    wbk.write_key_values(ws, r.key_numbers, row, header="quantity")

    cs = wb.create_sheet("Competencies")
    row = wbk.write_title(cs, "Competencies", "Ratings, criticality (mean of importance × frequency) and the "
                          "inclusion rule; excluded competencies in red")
    formats = dict(_TWO, not_performed=wbk.FORMATS["percent"])
    first, last = wbk.write_table(cs, r.competencies, start_row=row, formats=formats,
                                  widths={"excluded_because": 50, "title": 50}, wrap=("excluded_because", "title"))
    if "status" in r.competencies.columns:
        wbk.highlight_rows(cs, first, last, len(r.competencies.columns),
                           list(r.competencies.columns).index("status") + 1, {"excluded": wbk.BAD_FILL}, exact=True)

    ar = wb.create_sheet("Weights")
    row = wbk.write_title(ar, "Proposed and current item counts", "Area weight = the area's share of the "
                          "included competencies' criticality; counts by largest-remainder rounding")
    first, last = wbk.write_table(ar, r.areas, start_row=row, formats=dict(_TWO, weight=wbk.FORMATS["percent"]),
                                  freeze=False, autofilter=False, widths={"label": 40})
    cols = list(r.areas.columns)
    if {"current_count", "proposed_count"} <= set(cols) and last >= first:
        x = cols.index("area") + 1
        series = [(cols.index(c) + 1, first - 1, last) for c in ("current_count", "proposed_count")]
        wbk.bar_chart(ar, "Items per area: current and proposed", "area", "items", (x, first - 1, last), series,
                      anchor=f"A{last + 3}", width=24, height=10)

    sg = wb.create_sheet("Subgroups")
    row = wbk.write_title(sg, "Subgroup comparison", "Each group against the other respondents; Hedges' g, "
                          "flagged at |g| ≥ 0.5 (flagged rows first)")
    out = wbk.write_table_or_note(sg, r.subgroups, row, "No subgroup was compared (no background variable had two "
                                  "groups).", formats=_TWO)
    if out is not None and "flagged" in r.subgroups.columns:
        wbk.highlight_rows(sg, out[0], out[1], len(r.subgroups.columns),
                           list(r.subgroups.columns).index("flagged") + 1, {"yes": wbk.SEVERITY_FILLS["review"]},
                           exact=True)
    return wbk.save_atomic(wb, path, force=force)
