"""The candidate booklet: one form's questions in one language, in form order, for printing or for a vendor.

A booklet is what a candidate may see and nothing more: the program's name, the form, the instructions, and
for each position its number, stem and options. It carries no item ids, no answer key, no rationale, no
statistics and no IRT parameters, and a pretest item looks exactly like a scored one, so the booklet can travel
alone while the key stays on the form workbook's secure sheet (``reports.form_report``). The form workbook's
own booklet sheets are drawn by :func:`write_questions` too.

Renders :class:`Booklet` (built by ``workflows.booklets``); computes nothing.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import pandas as pd
from openpyxl.styles import Alignment, Font
from openpyxl.worksheet.worksheet import Worksheet

from reports import workbook as wbk

OPTION_LABELS = "ABCDEF"
#: Question text column width (characters): with the position column it fills a portrait page at 100%.
BOOKLET_WIDTH = 84
#: Type size of the questions (points): legible on paper at the page width above.
TEXT_SIZE = 11
#: Proportional type sets about 1.15 letters in one unit of column width (for row heights); bold about 1.0.
LETTERS_PER_UNIT = 1.15
BOLD_LETTERS_PER_UNIT = 1.0
#: Row height of one line of TEXT_SIZE type (points).
LINE_POINTS = 15.0


@dataclass(frozen=True)
class Booklet:
    """``questions``: one row per position in form order, columns position, stem, option_a … option_f
    (blank beyond the item's options). ``program``, ``heading`` (e.g. "Candidate booklet"), ``form_line``
    and ``instructions`` are already in the booklet's language; ``footer`` is the page-number line with
    ``&P`` (page) and ``&N`` (pages) as Excel's header codes."""

    form_id: str
    language: str
    program: str
    heading: str
    form_line: str
    instructions: Sequence[str]
    questions: pd.DataFrame
    footer: str = "&P / &N"


def _blank(value) -> bool:
    return value is None or (isinstance(value, float) and value != value) or str(value).strip() == ""


def options_of(record) -> list[str]:
    """The options of one question as printed: "A. text", in label order, the blank ones left out."""
    out = []
    for label in OPTION_LABELS:
        text = record.get(f"option_{label.lower()}")
        if not _blank(text):
            out.append(f"{label}. {text}")
    return out


def _fit_height(ws: Worksheet, row: int, text, bold: bool = False) -> None:
    lines = wbk.wrapped_lines(text, BOOKLET_WIDTH * (BOLD_LETTERS_PER_UNIT if bold else LETTERS_PER_UNIT))
    if lines > 1:
        ws.row_dimensions[row].height = LINE_POINTS * lines


def write_questions(ws: Worksheet, questions: pd.DataFrame, start_row: int, *, number_col: int = 1,
                    text_col: int = 2, size: float | None = None) -> int:
    """Each question from ``start_row``: its position number beside the bold stem, one option a row below,
    a blank row after. Every text is a text cell (never a formula). Returns the next free row."""
    ws.column_dimensions[wbk.get_column_letter(number_col)].width = 6
    ws.column_dimensions[wbk.get_column_letter(text_col)].width = BOOKLET_WIDTH
    stem_font = Font(bold=True, size=size) if size else Font(bold=True)
    text_font = Font(size=size) if size else None
    row = start_row
    for rec in questions.to_dict("records"):
        number = wbk.write_cell(ws, row, number_col, rec["position"])
        number.alignment = Alignment(vertical="top", horizontal="left")
        if text_font:
            number.font = text_font
        stem = wbk.write_cell(ws, row, text_col, "" if _blank(rec.get("stem")) else rec["stem"])
        stem.alignment, stem.font = wbk.WRAP, stem_font
        _fit_height(ws, row, rec.get("stem"), bold=True)
        row += 1
        for option in options_of(rec):
            cell = wbk.write_cell(ws, row, text_col, option)
            cell.alignment = wbk.WRAP
            if text_font:
                cell.font = text_font
            _fit_height(ws, row, option)
            row += 1
        row += 1
    return row


def build_booklet_workbook(booklet: Booklet, path: str | Path, force: bool = False) -> Path:
    """The booklet as a workbook of one sheet, printable portrait on Letter and A4 at full size, with the
    program and form on every page's header and the page number in its footer. Saved atomically."""
    wbk.check_writable(path, force)
    wb = wbk.new_workbook(f"{booklet.program}: {booklet.heading}",
                          settings={"form_id": booklet.form_id, "language": booklet.language})
    ws = wb.active
    ws.title = booklet.heading[:31]  # in the booklet's language, like everything a candidate sees
    wbk.write_cell(ws, 1, 1, booklet.program).font = Font(bold=True, size=14)
    wbk.write_cell(ws, 2, 1, booklet.heading).font = Font(bold=True, size=12)
    wbk.write_cell(ws, 3, 1, booklet.form_line).font = Font(size=TEXT_SIZE)
    row = 5
    for line in booklet.instructions:
        cell = wbk.write_cell(ws, row, 2, line)
        cell.font, cell.alignment = Font(italic=True, size=TEXT_SIZE), wbk.WRAP
        _fit_height(ws, row, line)
        row += 1
    write_questions(ws, booklet.questions, row + 1, size=TEXT_SIZE)
    ws.print_area = f"A1:B{ws.max_row}"
    wbk.print_fit(ws, orientation="portrait", repeat_cols=None)
    ws.oddHeader.left.text = booklet.program.replace("&", "&&")
    ws.oddHeader.right.text = booklet.form_line.replace("&", "&&")
    ws.oddFooter.center.text = booklet.footer
    return wbk.save_atomic(wb, path, force=force)


def booklet_lines(booklet: Booklet) -> list[str]:
    """Every line of text the booklet prints, in order (what a test or a PDF renderer reads)."""
    lines = [booklet.program, booklet.heading, booklet.form_line, *booklet.instructions]
    for rec in booklet.questions.to_dict("records"):
        lines.append(f"{rec['position']}. {'' if _blank(rec.get('stem')) else rec['stem']}")
        lines += options_of(rec)
    return lines
