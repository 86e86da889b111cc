"""The security workbook: a first sheet that says in plain words how many cases need review and why (with the
caution that a statistic is not proof), then one sheet per screen. Renders ``SecurityReport``; computes nothing.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping, Sequence

from reports import workbook as wbk

#: Sheet name and title of each table the security job may hand over.
SHEETS = {
    "person_fit.csv": ("Person fit", "lz* (Snijders 2001) and U3, worst first; flagged = lz* p below alpha"),
    "pairs.csv": ("Similar pairs", "Identical incorrect answers against chance (generalized binomial test)"),
    "clusters.csv": ("Clusters", "Candidates linked by flagged pairs (connected components)"),
    "preknowledge.csv": ("Preknowledge", "Exposed items against the rest (signed likelihood ratio)"),
    "item_drift.csv": ("Item drift", "Items easier now than in their latest earlier administration"),
    "retakes.csv": ("Retakers", "Gains beyond measurement error and the typical retest gain"),
    "timing.csv": ("Timing", "Correct answers too fast for the item (log-normal response times), most first"),
    "fast_answers.csv": ("Fast answers", "Each correct answer too fast for the item at the candidate's speed"),
    "item_times.csv": ("Item times", "Each item's typical time and the line below which an answer is too fast"),
}
P_COLUMNS = ("p_value", "adjusted_p")
NUMBER_COLUMNS = ("theta", "lz", "lz_star", "u3", "expected", "z", "gain", "se_gain", "theta_before",
                  "theta_now", "theta_exposed", "theta_rest", "p_before", "p_now", "logit_change", "speed",
                  "expected_fast_correct", "time_intensity", "time_precision")


@dataclass(frozen=True)
class SecurityReport:
    findings: Sequence[str]
    caution: str
    frames: Mapping[str, object] = field(default_factory=dict)
    settings: Mapping[str, object] = field(default_factory=dict)


def build_security_workbook(report: SecurityReport, path: str | Path, force: bool = False) -> Path:
    wbk.check_writable(path, force)
    settings = {k: v for k, v in report.settings.items() if k != "findings"}
    wb = wbk.new_workbook("Exam security review", settings=settings)
    ws = wb.active
    ws.title = "Summary"
    row = wbk.write_title(ws, "Exam security review", "What needs review, and why")
    row = wbk.write_sentences(ws, list(report.findings), row)
    row = wbk.write_sentences(ws, [report.caution], row + 1)
    for name, (sheet, title) in SHEETS.items():
        frame = report.frames.get(name)
        if frame is None:
            continue
        sh = wb.create_sheet(sheet)
        start = wbk.write_title(sh, sheet, title)
        formats = {c: wbk.FORMATS["pvalue"] for c in P_COLUMNS if c in frame.columns}
        formats.update({c: wbk.FORMATS["parameter"] for c in NUMBER_COLUMNS if c in frame.columns})
        if frame.empty:
            wbk.write_sentences(sh, ["Nothing to show."], start)
        else:
            wbk.write_table(sh, frame, start_row=start, formats=formats)
    return wbk.save_atomic(wb, path, force=force)
