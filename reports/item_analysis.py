"""The item-analysis workbook a certification board reads unaided.

Sheets: Summary (sentences and numbers), Items (every statistic with its flags, coloured by severity),
Options (distractor table, key highlighted), Flags (one row per flag with reason and suggested action),
Domains (subscores by competency area), DIF (English and Spanish text side by side), IRT (parameters and
fit), Scores (raw → θ → scaled → pass/fail), Charts (score distribution with the cut, information and CSEM,
quantile plots of flagged items) and Read me (every statistic in a line or two).

This module renders; it computes nothing. Its input is :class:`ItemAnalysisReport`, a bundle of the result
frames produced by ``psychometrics`` (``to_frame()`` of each result).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping, Sequence

import pandas as pd

from reports import workbook as wbk

#: Plain-language explanations for the Read me sheet, in the order a reader meets the statistics.
READ_ME = [
    ("N", "Number of candidates whose answer to the item counts (not-reached answers are left out)."),
    ("P (p_value)", "Proportion of candidates answering correctly. Below .30 is hard, above .90 is easy."),
    ("Point-biserial (item-rest)", "Correlation between getting the item right and the score on the other "
                                   "items. Good items are .20 or more; zero or negative means strong candidates "
                                   "do no better than weak ones: check the key and the wording."),
    ("Point-biserial (item-total)", "The same correlation with the total score including the item (Iteman's "
                                    "older convention; always a little higher)."),
    ("Biserial", "The point-biserial rescaled as if 'right' came from a normal ability; larger than the "
                 "point-biserial, most useful for very easy or very hard items."),
    ("Alpha if deleted", "Reliability of the test without this item. If it is higher than the test's alpha, "
                         "the item lowers reliability."),
    ("Omits / not reached", "Candidates who skipped the item / stopped before reaching it."),
    ("Option proportion", "Share of candidates choosing each option. A distractor chosen by under 2% does "
                          "no work."),
    ("Option point-biserial", "For the key it should be positive; for a distractor, negative. A distractor "
                              "with a positive value attracts strong candidates: check the key."),
    ("Quantile table", "Candidates split into score groups from lowest to highest; the share choosing each "
                       "option in each group. The key should rise from left to right."),
    ("Alpha (KR-20)", "Reliability: how consistently the test ranks candidates, from 0 to 1. Certification "
                      "exams aim for .80 or more; the interval is Feldt's 95% confidence interval."),
    ("SEM", "Standard error of measurement: the typical distance between a candidate's observed and true "
            "score, in raw-score points."),
    ("CSEM", "Conditional SEM: the SEM at a particular score, most important at the cut score."),
    ("a, b, c (IRT)", "Item response theory parameters: a = discrimination (slope), b = difficulty on the "
                      "ability scale θ, c = chance of a correct guess by very weak candidates."),
    ("Item fit (S-X²)", "Whether the IRT model describes the item; a small adjusted p-value means it does not."),
    ("Test information", "How precisely the test measures at each ability level; higher is more precise. "
                         "CSEM(θ) = 1 / √information."),
    ("DIF (Mantel–Haenszel)", "Whether candidates of equal total score but different language answer the "
                              "item differently. ETS class A = negligible, B = moderate, C = large: review "
                              "the translation."),
    ("Δ_MH", "The ETS delta difference: negative means the item is harder for the focal group (Spanish)."),
    ("Logistic-regression DIF", "A second DIF test; ΔR² says how much the language group adds to explaining "
                                "the answer (Zumbo–Thomas and Jodoin–Gierl classes A/B/C)."),
    ("θ (theta)", "Ability on the bank's IRT scale (0 = average of the calibration group)."),
    ("Scaled score", "The reported score: the same scaled cut (e.g. 500) means the same standard on every form."),
    ("Flags", "Reasons to look at an item, with a severity (review, severe, critical) and a suggested action "
              "(keep, revise, retire, check key)."),
]


#: Column headings in the reader's words (the frames keep their field names; CSV outputs use those).
HEADERS = {
    "item_id": "Item", "area": "Area", "key": "Key", "pretest": "Pretest", "n": "N", "p_value": "P",
    "p_value_en": "P (English)", "p_value_es": "P (Spanish)", "point_biserial": "Rpbis (item-rest)",
    "point_biserial_total": "Rpbis (item-total)", "biserial": "Biserial", "alpha_if_deleted": "Alpha if deleted",
    "omits": "Omits", "omit_rate": "Omit rate", "not_reached": "Not reached",
    "mean_total_correct": "Mean total, right", "mean_total_incorrect": "Mean total, wrong",
    "n_flags": "Flags", "severity": "Worst flag", "flags": "Flag codes", "suggested_action": "Suggested action",
    "group": "Candidates", "option": "Option", "is_key": "Key?", "proportion": "Proportion",
    "mean_total": "Mean total of choosers", "sd_total": "SD total of choosers", "source": "Source",
    "code": "Flag", "detail": "About", "value": "Value", "reason": "Reason",
    "p_history": "P by administration",
    "n_items": "Items", "mean": "Mean", "sd": "SD", "alpha": "Alpha",
    "n_ref": "N English", "n_focal": "N Spanish", "mh_chi2": "MH χ²", "mh_p": "MH p", "alpha_mh": "α MH",
    "delta_mh": "Δ MH", "delta_se": "SE of Δ", "ets_class": "ETS class", "lr_chi2_uniform": "LR χ² uniform",
    "lr_chi2_nonuniform": "LR χ² non-uniform", "lr_chi2_both": "LR χ² both", "lr_p": "LR p",
    "delta_r2": "ΔR²", "zt_class": "Zumbo–Thomas", "jg_class": "Jodoin–Gierl", "std_p_dif": "STD P-DIF",
    "flagged": "Flagged", "stem_en": "English text", "stem_es": "Spanish text",
    "a": "a (slope)", "b": "b (difficulty)", "c": "c (guessing)", "se_a": "SE a", "se_b": "SE b", "se_c": "SE c",
    "fixed": "Anchor", "s_x2": "S-X²", "df": "df", "sx2_p": "S-X² p", "sx2_p_adjusted": "S-X² p (adjusted)",
    "n_used": "N used", "infit": "Infit", "outfit": "Outfit", "infit_zstd": "Infit z", "outfit_zstd": "Outfit z",
    "max_abs_q3": "Max |Q3|", "raw_score": "Raw score", "theta": "θ", "scaled": "Scaled score",
    "decision": "Decision",
}

#: Labels of the Summary sheet's numbers.
SUMMARY_LABELS = {
    "n": "Candidates", "n_items": "Scored items", "mean": "Mean raw score", "sd": "SD of raw scores",
    "min": "Lowest raw score", "max": "Highest raw score", "median": "Median raw score",
    "alpha": "Reliability (KR-20 / coefficient alpha)", "alpha_ci_low": "Reliability, 95% CI lower (Feldt)",
    "alpha_ci_high": "Reliability, 95% CI upper (Feldt)", "sem": "Standard error of measurement (raw points)",
    "mean_p": "Mean item P", "mean_point_biserial": "Mean item-rest point-biserial", "cut": "Raw passing score",
    "pass_rate": "Pass rate", "irt_model": "IRT model", "irt_converged": "IRT calibration converged",
    "irt_log_likelihood": "IRT log-likelihood", "linking_A": "Linking constant A (Stocking–Lord)",
    "linking_B": "Linking constant B (Stocking–Lord)",
}


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
    flags: pd.DataFrame = field(default_factory=pd.DataFrame)
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
    """Number formats chosen by column name: proportions and correlations to 2 decimals, parameters to 3."""
    out = {}
    for col in frame.columns:
        name = str(col).lower()
        if name in ("n", "omits", "not_reached", "n_ref", "n_focal", "frequency", "raw_score", "position"):
            out[col] = wbk.FORMATS["integer"]
        elif name.endswith("_p") or name in ("p", "lr_p", "mh_p", "p_adj", "sx2_p", "sx2_p_adj"):
            out[col] = wbk.FORMATS["pvalue"]
        elif "p_value" in name or "proportion" in name or name.startswith("p_") or name.startswith("q"):
            out[col] = wbk.FORMATS["proportion"]
        elif "biserial" in name or "alpha" in name or name.startswith("r_") or "corr" in name:
            out[col] = wbk.FORMATS["correlation"]
        elif name in ("a", "b", "c", "theta") or name.startswith("se_") or "delta" in name or name.endswith("_r2"):
            out[col] = wbk.FORMATS["parameter"]
        elif "mean" in name or "sd" in name or "score" in name or "csem" in name:
            out[col] = wbk.FORMATS["score"]
    return out


def _table_sheet(wb, name: str, frame: pd.DataFrame, title: str, subtitle: str, empty_note: str,
                 wrap: Sequence[str] = (), severity_col: str | None = None, key_col: str | None = None,
                 fills=None, exact: bool = False):
    ws = wb.create_sheet(name)
    row = wbk.write_title(ws, title, subtitle)
    rows = wbk.write_table_or_note(ws, frame, row, empty_note, formats=_formats_for(frame) if frame is not None
                                   else {}, wrap=wrap, widths={c: 60 for c in wrap}, headers=HEADERS)
    if rows is None:
        return ws, None
    first, last = rows
    ncols = len(frame.columns)
    if severity_col and severity_col in frame.columns:
        wbk.highlight_rows(ws, first, last, ncols, list(frame.columns).index(severity_col) + 1,
                           fills or wbk.SEVERITY_FILLS, exact=exact)
    if key_col and key_col in frame.columns:
        col = list(frame.columns).index(key_col) + 1
        for r in range(first, last + 1):
            if ws.cell(row=r, column=col).value in (True, "yes", "key", 1):
                for c in range(1, ncols + 1):
                    ws.cell(row=r, column=c).fill = wbk.KEY_FILL
    return ws, (row, first, last)


def summary_sentences(report: ItemAnalysisReport) -> list[str]:
    """The Summary sheet's sentences, from the numbers alone."""
    s = report.summary
    out = []
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
    if not report.flags.empty and "severity" in report.flags.columns:
        counts = report.flags.drop_duplicates(["item_id", "severity"]).groupby("severity")["item_id"].nunique()
        parts = [f"{counts.get(sev, 0)} {sev}" for sev in ("critical", "severe", "review")]
        out.append(f"{report.flags['item_id'].nunique()} items carry at least one flag ({', '.join(parts)}); "
                   "the Flags sheet gives the reason and a suggested action for each.")
    elif not report.items.empty:
        out.append("No item was flagged.")
    out.extend(report.sentences)
    return out


def build_item_analysis_workbook(report: ItemAnalysisReport, path: str | Path, force: bool = False) -> Path:
    """Render ``report`` to ``path`` (atomic; refuses to overwrite without ``force``)."""
    wbk.check_writable(path, force)
    wb = wbk.new_workbook(report.title, settings=report.settings, input_files=report.input_files)
    ws = wb.active
    ws.title = "Summary"
    row = wbk.write_title(ws, report.title, "What was analyzed and what it found")
    row = wbk.write_sentences(ws, summary_sentences(report), row)
    wbk.write_key_values(ws, report.summary, row, labels=SUMMARY_LABELS,
                         formats={"pass_rate": wbk.FORMATS["percent"]})

    _table_sheet(wb, "Items", report.items, "Item statistics", "One row per item; rows coloured by the most "
                 "severe flag (red = critical, orange = severe, yellow = review)", "No items.",
                 severity_col="severity")
    _table_sheet(wb, "Options", report.options, "Options (distractor analysis)", "The key is highlighted green",
                 "No option-level data (scored responses only).", key_col="is_key")
    _, where = _table_sheet(wb, "Flags", report.flags, "Flagged items", "One row per flag: the reason in plain "
                            "words and the suggested action", "No item was flagged.", wrap=("reason",),
                            severity_col="severity")
    if where is not None and "value" in report.flags.columns:
        col = list(report.flags.columns).index("value") + 1
        for r in range(where[1], where[2] + 1):
            wb["Flags"].cell(row=r, column=col).number_format = "0.000"
    _table_sheet(wb, "Domains", report.domains, "Subscores by competency area", "Mean, SD and reliability of "
                 "each area's subscore", "No competency areas were given.")
    _table_sheet(wb, "DIF", report.dif, "Differential item functioning (English vs Spanish)",
                 "Candidates of equal total score compared across languages; the item text in both languages "
                 "is shown so reviewers can compare", "DIF was not run (only one language group).",
                 wrap=("stem_en", "stem_es"), severity_col="ets_class", exact=True,
                 fills={"C": wbk.SEVERITY_FILLS["severe"], "B": wbk.SEVERITY_FILLS["review"]})
    _table_sheet(wb, "IRT", report.irt, "IRT item parameters and fit", "a = discrimination, b = difficulty, "
                 "c = guessing; standard errors and fit statistics beside them", "IRT calibration was not run.")
    _table_sheet(wb, "Scores", report.scores, "Score conversion", "Raw score → θ → scaled score → decision",
                 "No conversion table (no standard set).")
    _charts_sheet(wb, report)
    rm = wb.create_sheet("Read me")
    row = wbk.write_title(rm, "Read me", "What each statistic means")
    wbk.write_table(rm, pd.DataFrame(READ_ME, columns=["statistic", "meaning"]), start_row=row,
                    widths={"statistic": 30, "meaning": 110}, wrap=("meaning",), autofilter=False)
    return wbk.save_atomic(wb, path, force=force)


def _charts_sheet(wb, report: ItemAnalysisReport) -> None:
    """Native Excel charts: score distribution with the cut, information and CSEM, quantile plots of
    flagged items. The data behind each chart sits on the same sheet so the chart stays live."""
    ws = wb.create_sheet("Charts")
    wbk.write_title(ws, "Charts", "Where people look rather than read")
    # Chart data sits to the right (from column T) so the charts own the left of the sheet.
    col = 20
    anchors = iter(["A3", "A22", "A41", "A60", "A79", "A98", "A117", "A136"])
    dist = report.score_distribution
    if not dist.empty:
        frame = dist[["raw_score", "frequency"]].copy()
        cut = report.summary.get("cut")
        if cut is not None:
            frame["at_cut"] = [f if s == cut else 0 for s, f in zip(frame["raw_score"], frame["frequency"])]
        _, last = wbk.write_table(ws, frame, start_row=3, start_col=col, freeze=False, autofilter=False)
        series = [(col + 1, 3, last)] + ([(col + 2, 3, last)] if cut is not None else [])
        chart = wbk.bar_chart(ws, "Score distribution" + (f" (cut = {cut}, red)" if cut is not None else ""),
                              "Raw score", "Candidates", (col, 3, last), series, next(anchors))
        chart.grouping = "stacked"
        chart.overlap = 100
        col += len(frame.columns) + 1
    info = report.information
    if not info.empty:
        frame = info[["theta", "information", "csem"]]
        _, last = wbk.write_table(ws, frame, start_row=3, start_col=col, freeze=False, autofilter=False)
        wbk.line_chart(ws, "Test information", "θ (ability)", "Information", (col, 3, last),
                       [(col + 1, 3, last)], next(anchors))
        wbk.line_chart(ws, "Conditional standard error of θ", "θ (ability)", "CSEM", (col, 3, last),
                       [(col + 2, 3, last)], next(anchors))
        col += 4
    quant = report.quantiles
    if not quant.empty and not report.flags.empty and {"item_id", "option", "group"} <= set(quant.columns):
        value_col = "proportion" if "proportion" in quant.columns else quant.columns[-1]
        for item_id in list(dict.fromkeys(report.flags["item_id"]))[:5]:
            q = quant[quant["item_id"] == item_id]
            if q.empty:
                continue
            wide = q.pivot_table(index="group", columns="option", values=value_col, aggfunc="first")
            wide = wide.reset_index().rename(columns={"group": f"{item_id} score group"})
            wide.columns = [str(c) for c in wide.columns]
            _, last = wbk.write_table(ws, wide, start_row=3, start_col=col, freeze=False, autofilter=False)
            series = [(col + j, 3, last) for j in range(1, len(wide.columns))]
            wbk.line_chart(ws, f"{item_id}: share choosing each option by score group", "Score group (low → high)",
                           "Proportion", (col, 3, last), series, next(anchors), scatter=True)
            col += len(wide.columns) + 1
    # Print the charts, not the numbers behind them.
    ws.print_area = f"A1:R{19 * 7 + 3}"
    ws.page_setup.fitToHeight = 0
