"""The item-analysis workbook a certification board reads unaided.

Sheets: Summary (the items to act on first, then the numbers), Action list (one row per item needing a
decision, worst first, one recommended action each), Items (key columns first), Options (key highlighted),
Flags (one row per item × problem, with the groups it holds in), Domains, DIF (English and Spanish text side
by side), IRT, Scores, Charts (score distribution with the cut, information and CSEM, option-by-score-group
plots of the top action items) and Read me (every statistic, flag code, severity, action and column).

This module renders; it computes nothing. Its input is :class:`ItemAnalysisReport`, a bundle of the result
frames produced by ``psychometrics`` and gathered by ``workflows.bundles``. Every sheet is set up to print
legibly on Letter and A4 (``workbook.print_fit``): never below 70%, wide sheets across pages with the item id
repeated.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping, Sequence

import pandas as pd

from reports import workbook as wbk
from reports.item_glossary import CODE_GLOSSARY, HEADERS, READ_ME, SUMMARY_LABELS, TERMS
from reports.charts import charts_sheet

__all__ = ["HEADERS", "READ_ME", "ItemAnalysisReport", "build_item_analysis_workbook", "summary_sentences"]

@dataclass(frozen=True)
class ItemAnalysisReport:
    """Everything the item-analysis workbook shows, as already-computed frames.

    ``summary`` holds test-level numbers (n, mean, sd, alpha, alpha_ci_low/high, sem, cut, pass_rate, ...);
    ``n_by_group`` maps e.g. language → N. Frames may be empty when an analysis was not run.
    """

    title: str
    summary: Mapping[str, object]
    items: pd.DataFrame
    options: pd.DataFrame = field(default_factory=pd.DataFrame)
    quantiles: pd.DataFrame = field(default_factory=pd.DataFrame)
    flags: pd.DataFrame = field(default_factory=pd.DataFrame)  # one row per item × problem (Flags sheet)
    actions: pd.DataFrame = field(default_factory=pd.DataFrame)  # the action list, worst first
    flag_rows: pd.DataFrame = field(default_factory=pd.DataFrame)  # one row per flag × group (flags.csv)
    domains: pd.DataFrame = field(default_factory=pd.DataFrame)
    dif: pd.DataFrame = field(default_factory=pd.DataFrame)
    irt: pd.DataFrame = field(default_factory=pd.DataFrame)
    scores: pd.DataFrame = field(default_factory=pd.DataFrame)
    score_distribution: pd.DataFrame = field(default_factory=pd.DataFrame)  # raw_score, frequency
    information: pd.DataFrame = field(default_factory=pd.DataFrame)  # theta, information, csem
    n_by_group: Mapping[str, int] = field(default_factory=dict)
    sentences: Sequence[str] = ()
    settings: Mapping[str, object] = field(default_factory=dict)
    input_files: Sequence[str] = ()


def _formats_for(frame: pd.DataFrame) -> dict[str, str]:
    """Number formats chosen by column name: counts as integers, proportions and correlations to 2 decimals,
    parameters to 3, p-values as "< .001" or 3 decimals, rates as percentages."""
    out = {}
    for col in frame.columns:
        name = str(col).lower()
        if name in ("n", "omits", "not_reached", "n_ref", "n_focal", "frequency", "raw_score", "position",
                    "n_used", "df", "n_items", "group_n", "rank", "n_problems", "n_flags", "version",
                    "score_min", "score_max", "group"):
            out[col] = wbk.FORMATS["integer"]
        elif name.endswith("_rate"):
            out[col] = wbk.FORMATS["percent"]
        elif name.endswith("_p") or "_p_" in name or name in ("p", "lr_p", "mh_p"):
            out[col] = wbk.FORMATS["pvalue"]
        elif "p_value" in name or "proportion" in name or name.startswith("p_") or name.startswith("q"):
            out[col] = wbk.FORMATS["proportion"]
        elif ("biserial" in name or "alpha" in name or name.startswith("r_") or "corr" in name
              or name in ("infit", "outfit")):
            out[col] = wbk.FORMATS["correlation"]
        elif name in ("a", "b", "c", "theta") or name.startswith("se_") or "delta" in name or name.endswith("_r2"):
            out[col] = wbk.FORMATS["parameter"]
        elif ("mean" in name or "sd" in name or "score" in name or "csem" in name or "chi2" in name
              or name in ("s_x2", "infit_zstd", "outfit_zstd", "information")):
            out[col] = wbk.FORMATS["score"]
    return out


#: The columns each wide sheet shows first (the printable key columns); the rest follow, and print on the
#: following pages with the item id repeated.
KEY_COLUMNS = {
    "Items": ["item_id", "area", "key", "n", "p_value", "p_value_en", "p_value_es", "point_biserial",
              "severity", "suggested_action"],
    "Options": ["item_id", "option", "is_key", "n", "proportion", "point_biserial", "mean_total"],
    "DIF": ["item_id", "ets_class", "delta_mh", "mh_p", "mh_p_adjusted", "disadvantaged", "flagged", "n_ref",
            "n_focal", "stem_en", "stem_es"],
    "IRT": ["item_id", "a", "b", "c", "se_a", "se_b", "se_c", "infit", "outfit", "sx2_p_adjusted", "max_abs_q3"],
}
#: Column widths (characters) of text columns.
WIDTHS = {"reason": 58, "problem": 46, "why": 28, "evidence": 28, "stem": 26, "stem_en": 44, "stem_es": 44,
          "groups": 24, "area": 12, "item_id": 10, "p_history": 26, "detail": 9, "code": 26, "rank": 5,
          "severity": 9, "action": 10, "suggested_action": 11, "meaning": 100, "statistic": 30}


#: Headings that differ by sheet.
SHEET_HEADERS = {"Action list": {"severity": "Severity"}, "Flags": {"severity": "Severity", "code": "Flag code"}}


def _key_first(frame: pd.DataFrame, sheet: str) -> pd.DataFrame:
    first = [c for c in KEY_COLUMNS.get(sheet, ()) if c in frame.columns]
    return frame[first + [c for c in frame.columns if c not in first]]


def _table_sheet(wb, name: str, frame: pd.DataFrame, title: str, subtitle: str, empty_note: str,
                 wrap: Sequence[str] = (), severity_col: str | None = None, key_col: str | None = None,
                 fills=None, exact: bool = False, orientation: str | None = None):
    ws = wb.create_sheet(name)
    row = wbk.write_title(ws, title, subtitle)
    if frame is not None and not frame.empty:
        frame = wbk.words_frame(_key_first(frame, name))
    headers = {c: wbk.human_heading(c, {**HEADERS, **(SHEET_HEADERS.get(name, {}))})
               for c in (frame.columns if frame is not None else ())}
    widths = {c: WIDTHS[c] for c in (frame.columns if frame is not None else ()) if c in WIDTHS}
    rows = wbk.write_table_or_note(ws, frame, row, empty_note, formats=_formats_for(frame) if frame is not None
                                   else {}, wrap=wrap, widths=widths, headers=headers)
    if rows is None:
        ws.column_dimensions["A"].width = 100
        wbk.print_fit(ws, orientation="portrait")
        return ws, None
    first, last = rows
    ncols = len(frame.columns)
    for j, col in enumerate(frame.columns, 1):  # headings wrap instead of widening the columns
        letter = wbk.get_column_letter(j)
        if col not in widths:
            ws.column_dimensions[letter].width = min(ws.column_dimensions[letter].width, 14)
    ws.row_dimensions[row].height = wbk.LINE_HEIGHT * 2
    for r in range(first, last + 1):  # text one space off its neighbour; every cell at the top of its row
        for c in range(1, ncols + 1):
            cell = ws.cell(row=r, column=c)
            cell.alignment = wbk.Alignment(wrap_text=cell.alignment.wrap_text, vertical="top",
                                           indent=1 if isinstance(cell.value, str) else 0)
    if severity_col and severity_col in frame.columns:
        wbk.highlight_rows(ws, first, last, ncols, list(frame.columns).index(severity_col) + 1,
                           fills or wbk.SEVERITY_FILLS, exact=exact)
    if key_col and key_col in frame.columns:
        col = list(frame.columns).index(key_col) + 1
        for r in range(first, last + 1):
            if ws.cell(row=r, column=col).value in (True, "yes", "key", 1):
                for c in range(1, ncols + 1):
                    ws.cell(row=r, column=c).fill = wbk.KEY_FILL
    wbk.print_fit(ws, header_row=row, orientation=orientation)
    return ws, (row, first, last, frame)


def _counts(report: ItemAnalysisReport) -> tuple[int, dict[str, int]]:
    """Flagged items and their split by severity, from the action list (the one source of every count)."""
    a = report.actions
    if a is None or a.empty or "severity" not in a.columns:
        return 0, {"critical": 0, "severe": 0, "review": 0}
    return len(a), {s: int((a["severity"] == s).sum()) for s in ("critical", "severe", "review")}


def action_sentences(report: ItemAnalysisReport) -> list[str]:
    """The Summary's first paragraph: the items to act on before scoring, by id, and how many follow."""
    n, c = _counts(report)
    if n == 0:
        return ["No item needs a decision: no item was flagged."] if not report.items.empty else []
    a = report.actions
    crit = a[a["severity"] == "critical"]
    out = []
    if len(crit):
        named = "; ".join(f"{r.item_id} ({r.action})" for r in crit.itertuples(index=False))
        out.append(f"Before scores are released: {named}. "
                   + ("This item" if len(crit) == 1 else "These items")
                   + " may have a wrong key or reward weaker candidates; see the Action list.")
    else:
        out.append("No item needs action before scoring (no wrong key, no negative discrimination).")
    out.append(f"In all {n} item{'s' if n != 1 else ''} need{'s' if n == 1 else ''} a decision: "
               f"{c['critical']} critical, {c['severe']} severe and {c['review']} review. After scoring, "
               f"{c['severe']} severe item{'s' if c['severe'] != 1 else ''} should be decided before "
               f"{'it is' if c['severe'] == 1 else 'they are'} used again, and {c['review']} need"
               f"{'s' if c['review'] == 1 else ''} a review.")
    return out


def summary_sentences(report: ItemAnalysisReport) -> list[str]:
    """The Summary sheet's sentences, from the numbers alone: what to act on first, then the test."""
    s = report.summary
    out = action_sentences(report)
    n = s.get("n")
    if n is not None:
        groups = ", ".join(f"{v:,} in {wbk.LANGUAGE_NAMES.get(k, k)}" for k, v in report.n_by_group.items())
        out.append(f"{int(n):,} candidates answered {int(s.get('n_items', len(report.items)))} scored items"
                   + (f" ({groups})." if groups else "."))
    if s.get("mean") is not None:
        out.append(f"The average raw score was {s['mean']:.1f} (SD {s.get('sd', float('nan')):.1f}).")
    if s.get("alpha") is not None:
        ci = ""
        if s.get("alpha_ci_low") is not None:
            ci = f" (95% CI {s['alpha_ci_low']:.2f}–{s['alpha_ci_high']:.2f})"
        verdict = "meets" if s["alpha"] >= 0.80 else "falls short of"
        out.append(f"Reliability (KR-20) is {s['alpha']:.2f}{ci}, which {verdict} the usual .80 expectation for "
                   f"certification decisions; the SEM is {s.get('sem', float('nan')):.2f} raw-score points.")
    if s.get("cut") is not None:
        pr = s.get("pass_rate")
        out.append(f"The raw passing score on this form is {s['cut']}"
                   + (f"; {pr:.0%} of candidates passed." if pr is not None else "."))
    out.extend(report.sentences)
    return out


def _summary_values(report: ItemAnalysisReport) -> tuple[dict, dict]:
    """The Summary's numbers with readers' labels and formats (booleans in words, counts as integers)."""
    values, formats = {}, {}
    methods = {"odd_even": "odd vs even items", "first_last": "first vs last half", "random": "a random split"}
    for key, value in report.summary.items():
        label = SUMMARY_LABELS.get(key)
        if label is None and str(key).startswith("split-half ("):
            method = str(key)[len("split-half ("):].split(")")[0]
            label = f"Split-half reliability ({methods.get(method, method)}), Spearman–Brown corrected"
        label = label or wbk.human_heading(key)
        values[label] = wbk.in_words(value)
        if key in ("n", "n_items", "min", "max", "cut"):
            formats[label] = wbk.FORMATS["count"]
        elif key == "pass_rate":
            formats[label] = wbk.FORMATS["percent"]
        elif key in ("mean", "sd", "median", "sem", "irt_log_likelihood"):
            formats[label] = "#,##0.00"
        else:
            formats[label] = "0.00" if key != "linking_A" and key != "linking_B" else "0.000"
    n, c = _counts(report)
    values["Items needing a decision (Action list)"] = n
    for sev in ("critical", "severe", "review"):
        values[f"  of which {sev}"] = c[sev]
    return values, formats


def build_item_analysis_workbook(report: ItemAnalysisReport, path: str | Path, force: bool = False) -> Path:
    """Render ``report`` to ``path`` (atomic; refuses to overwrite without ``force``)."""
    wbk.check_writable(path, force)
    wb = wbk.new_workbook(report.title, settings=report.settings, input_files=report.input_files)
    ws = wb.active
    ws.title = "Summary"
    row = wbk.write_title(ws, report.title, "What was analyzed, what it found, and what to do first")
    row = wbk.write_sentences(ws, summary_sentences(report), row, width=100)
    values, formats = _summary_values(report)
    last = wbk.write_key_values(ws, values, row, header="Statistic", labels={}, formats=formats)
    ws.cell(row=row, column=2).value = "Value"
    for r in range(row + 1, last + 1):
        cell = ws.cell(row=r, column=2)
        if isinstance(cell.value, int):
            cell.number_format = formats.get(ws.cell(row=r, column=1).value, wbk.FORMATS["count"])
    ws.column_dimensions["A"].width, ws.column_dimensions["B"].width = 100, 16
    wbk.print_fit(ws, orientation="landscape")

    actions = report.actions if report.actions is not None else pd.DataFrame()
    shown = [c for c in ("rank", "item_id", "area", "stem", "severity", "action", "problem", "why", "evidence")
             if c in actions.columns]
    _table_sheet(wb, "Action list", actions[shown] if shown else actions, "Action list: what to decide, worst "
                 "first", "One row per item that needs a decision, with one recommended action; the Flags sheet "
                 "lists every problem", "No item needs a decision.", wrap=("stem", "problem", "why", "evidence"),
                 severity_col="severity", exact=True, orientation="landscape")
    _table_sheet(wb, "Items", report.items, "Item statistics", "One row per item; rows coloured by the most "
                 "severe flag (red = critical, orange = severe, yellow = review)", "No items.",
                 severity_col="severity")
    _table_sheet(wb, "Options", report.options, "Options (distractor analysis)", "The key is highlighted green",
                 "No option-level data (scored responses only).", key_col="is_key")
    _, where = _table_sheet(wb, "Flags", report.flags, "Every problem, item by item", "One row per item and "
                            "problem, in the order of the Action list; 'Holds for' names the candidate groups",
                            "No item was flagged.", wrap=("reason", "groups"), severity_col="severity",
                            exact=True, orientation="landscape")
    if where is not None and {"value", "code"} <= set(where[3].columns):
        cols = list(where[3].columns)
        vcol, ccol = cols.index("value") + 1, cols.index("code") + 1
        fl = wb["Flags"]
        for r in range(where[1], where[2] + 1):
            code = str(fl.cell(row=r, column=ccol).value)
            fmt = (wbk.FORMATS["pvalue"] if code == "IRT_MISFIT" else wbk.FORMATS["percent"] if code in
                   ("NONFUNCTIONING_DISTRACTOR", "OMIT_RATE", "KEY_CHECK_TOP_GROUP") else "0.00")
            fl.cell(row=r, column=vcol).number_format = fmt
    _table_sheet(wb, "Domains", report.domains, "Subscores by competency area", "Mean, SD and reliability of "
                 "each area's subscore; r = correlation with another area's subscore", "No competency areas "
                 "were given.")
    _table_sheet(wb, "DIF", report.dif, "Differential item functioning (English vs Spanish)",
                 "Candidates of equal total score compared across languages; the item text in both languages "
                 "is shown so reviewers can compare", "DIF was not run (only one language group).",
                 wrap=("stem_en", "stem_es"), severity_col="ets_class", exact=True,
                 fills={"C": wbk.SEVERITY_FILLS["severe"], "B": wbk.SEVERITY_FILLS["review"]})
    _table_sheet(wb, "IRT", report.irt, "IRT item parameters and fit", "a = discrimination, b = difficulty, "
                 "c = guessing; standard errors and fit statistics beside them", "IRT calibration was not run.")
    _table_sheet(wb, "Scores", report.scores, "Score conversion", "Raw score → θ → scaled score → decision",
                 "No conversion table (no standard set).")
    charts_sheet(wb, report)
    rm = wb.create_sheet("Read me")
    row = wbk.write_title(rm, "Read me", "What each statistic, flag code, severity, action and column means")
    glossary = (list(READ_ME) + [(c, m) for c, m in CODE_GLOSSARY] + list(TERMS)
                + _column_glossary(report))
    wbk.write_table(rm, pd.DataFrame(glossary, columns=["statistic", "meaning"]), start_row=row,
                    widths={"statistic": 30, "meaning": 100}, wrap=("meaning",), autofilter=False,
                    headers={"statistic": "Term", "meaning": "Meaning"})
    wbk.print_fit(rm, header_row=row, orientation="landscape")
    return wbk.save_atomic(wb, path, force=force)


def _column_glossary(report: ItemAnalysisReport) -> list[tuple[str, str]]:
    """Every column heading a sheet shows that the glossary above does not already explain."""
    from reports.item_glossary import COLUMN_MEANINGS

    seen, out = set(), []
    for frame in (report.actions, report.items, report.options, report.flags, report.dif, report.irt,
                  report.domains, report.scores):
        for col in (frame.columns if frame is not None else ()):
            heading = wbk.human_heading(col, HEADERS)
            if heading in seen:
                continue
            seen.add(heading)
            meaning = COLUMN_MEANINGS.get(col) or (COLUMN_MEANINGS["r_"] + str(col)[2:] if str(col).startswith("r_")
                                                 else None)
            if meaning:
                out.append((f"Column: {heading}", meaning))
    return out
