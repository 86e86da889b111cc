"""Candidate score reports: one PDF letter per candidate, and all of them merged for mailing.

Renders :class:`Letter` objects with the fixed text of a message catalogue (``reports/messages/<lang>.toml``,
read by the workflow and passed in as a mapping); computes nothing. A letter shows the program, the candidate,
the test date and form, the result and scaled score with the scale and passing score, a band for each content
area, and for a candidate who did not pass the areas to study and the retake rules. It never receives item
content, keys, item ids or θ, so it cannot show them.

PDF by fpdf2 with the core Helvetica font (Latin-1: covers English and Spanish, including á é í ó ú ü ñ ¿ ¡)
unless ``fonts`` names a TrueType regular and bold font for text beyond Latin-1.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping, Sequence

from fpdf import FPDF

#: Catalogue keys every language must define.
MESSAGE_KEYS = (
    "language_name", "months", "date", "date_range", "title", "candidate", "candidate_name", "test_date",
    "form", "date_not_recorded", "result_heading", "result_pass", "result_fail", "scaled_score", "scale",
    "decision_note", "areas_heading", "area_column", "correct_column", "band_column", "correct", "band_below",
    "band_near", "band_above", "band_too_few", "areas_explanation", "study_heading", "study_below",
    "study_near", "study_none", "retake_heading", "retake_rules", "privacy",
)
#: Area band value → catalogue key.
BAND_KEYS = {"below": "band_below", "near": "band_near", "above": "band_above", "too_few_items": "band_too_few"}
CORE_FONT = "Helvetica"


@dataclass(frozen=True)
class AreaLine:
    title: str
    correct: int
    n_items: int
    band: str  # a key of BAND_KEYS


@dataclass(frozen=True)
class Letter:
    """Everything one candidate's report shows, already chosen by the workflow. Dates are ISO (YYYY-MM-DD)."""

    language: str
    program_name: str
    candidate_id: str
    candidate_name: str | None
    form_id: str
    window_start: str | None
    window_end: str | None
    passed: bool
    scaled: int
    scale_low: int
    scale_high: int
    scale_cut: int
    areas: Sequence[AreaLine]
    min_items: int
    contact: str
    study: Sequence[str] = ()  # area titles to study (candidates who did not pass)
    study_kind: str = "none"  # "below", "near" or "none"
    retake: Mapping[str, int] = field(default_factory=dict)  # max_attempts, period_months, waiting_days


def format_date(iso: str, messages: Mapping) -> str:
    """An ISO date in the catalogue's words ('June 3, 2026', '3 de junio de 2026')."""
    year, month, day = (int(p) for p in iso[:10].split("-"))
    return messages["date"].format(day=day, month=messages["months"][month - 1], year=year)


def test_date_text(letter: Letter, messages: Mapping) -> str:
    """The administration's window: one date, a range, or 'not recorded'."""
    start, end = letter.window_start, letter.window_end or letter.window_start
    if not start:
        return messages["date_not_recorded"]
    if end == start:
        return format_date(start, messages)
    return messages["date_range"].format(start=format_date(start, messages), end=format_date(end, messages))


def letter_texts(letter: Letter, messages: Mapping) -> list[str]:
    """Every string a letter prints, in order (used to check a font can show them before rendering)."""
    m = messages
    texts = [letter.program_name, m["title"], m["candidate"], letter.candidate_id, m["test_date"],
             test_date_text(letter, m), m["form"], letter.form_id, m["result_heading"],
             m["result_pass"] if letter.passed else m["result_fail"], m["scaled_score"].format(scaled=letter.scaled),
             m["scale"].format(low=letter.scale_low, high=letter.scale_high, cut=letter.scale_cut),
             m["decision_note"], m["areas_heading"], m["area_column"], m["correct_column"], m["band_column"]]
    if letter.candidate_name:
        texts += [m["candidate_name"], letter.candidate_name]
    for area in letter.areas:
        texts += [area.title, m["correct"].format(correct=area.correct, n=area.n_items), m[BAND_KEYS[area.band]]]
    texts.append(m["areas_explanation"].format(min_items=letter.min_items))
    if not letter.passed:
        texts += [m["study_heading"], m[f"study_{letter.study_kind}"], *letter.study, m["retake_heading"],
                  m["retake_rules"].format(**letter.retake)]
    texts += [letter.contact, m["privacy"]]
    return texts


class _Document(FPDF):
    def __init__(self, fonts: Mapping[str, str] | None):
        super().__init__(format="letter", unit="mm")
        self.set_margins(20, 18, 20)
        self.set_auto_page_break(True, margin=18)
        self.set_compression(True)
        self.family = CORE_FONT
        if fonts:
            self.add_font("Body", "", fonts["regular"])
            self.add_font("Body", "B", fonts["bold"])
            self.family = "Body"

    def use(self, size: float, bold: bool = False) -> None:
        self.set_font(self.family, "B" if bold else "", size)


#: Wrapped lines of a text by (font family, bold, size, width): the fixed texts and area titles repeat in
#: every letter, and fpdf2's line breaking is most of the cost of a page.
_WRAPPED: dict[tuple, list[str]] = {}


def _lines(pdf: _Document, text: str, width: float, size: float, bold: bool = False) -> list[str]:
    key = (pdf.family, bold, size, width, text)
    lines = _WRAPPED.get(key)
    if lines is None:
        pdf.use(size, bold)
        lines = pdf.multi_cell(width, 5, text, dry_run=True, output="LINES")
        if len(_WRAPPED) > 20000:
            _WRAPPED.clear()
        _WRAPPED[key] = lines
    return lines


def _put(pdf: _Document, x: float, height: float, text: str, width: float | None = None,
         align: str = "L") -> None:
    """Write one line at the cursor's y, vertically centred in ``height`` as ``cell`` would, through
    ``FPDF.text`` (several times faster than ``cell``; the lines are already wrapped)."""
    if width is not None and align == "C":
        x += (width - _width(pdf, text)) / 2
    pdf.text(x, pdf.get_y() + 0.5 * height + 0.3 * pdf.font_size, text)


_WIDTHS: dict[tuple, float] = {}


def _width(pdf: _Document, text: str) -> float:
    key = (pdf.font_family, pdf.font_style, pdf.font_size_pt, text)
    if key not in _WIDTHS:
        _WIDTHS[key] = pdf.get_string_width(text)
    return _WIDTHS[key]


def _line(pdf: _Document, text: str, size: float, height: float, bold: bool = False, indent: float = 0.0) -> None:
    if pdf.will_page_break(height):
        pdf.add_page()
    pdf.use(size, bold)
    _put(pdf, pdf.l_margin + indent, height, text)
    pdf.set_y(pdf.get_y() + height)


def _paragraph(pdf: _Document, text: str, size: float, height: float, bold: bool = False,
               indent: float = 0.0) -> None:
    width = pdf.w - pdf.l_margin - pdf.r_margin - indent
    for line in _lines(pdf, text, width, size, bold):
        _line(pdf, line, size, height, bold, indent)


def _field(pdf: _Document, label: str, value: str) -> None:
    pdf.use(10, bold=True)
    _put(pdf, pdf.l_margin, 6, label)
    pdf.use(10)
    _put(pdf, pdf.l_margin + 48, 6, value)
    pdf.set_y(pdf.get_y() + 6)


def _heading(pdf: _Document, text: str) -> None:
    pdf.ln(4)
    _line(pdf, text, 12, 7, bold=True)


#: Area table column widths as shares of the text width, and the line height of its text (mm).
_COLUMNS = (0.56, 0.16, 0.28)
_ROW_LINE = 4.4
_PAD = 1.2


def _table_row(pdf: _Document, cells: Sequence[str], bold: bool) -> None:
    full = pdf.w - pdf.l_margin - pdf.r_margin
    widths = [full * share for share in _COLUMNS]
    wrapped = [_lines(pdf, text, w - 2 * _PAD, 9, bold) for text, w in zip(cells, widths)]
    height = max(len(lines) for lines in wrapped) * _ROW_LINE + 2 * _PAD
    if pdf.will_page_break(height):
        pdf.add_page()
    x, y = pdf.l_margin, pdf.get_y()
    pdf.use(9, bold)
    if bold:
        pdf.set_fill_color(232, 232, 232)
        pdf.rect(x, y, full, height, style="F")
    for lines, w, align in zip(wrapped, widths, ("L", "C", "L")):
        for i, line in enumerate(lines):
            pdf.set_y(y + _PAD + i * _ROW_LINE)
            _put(pdf, x + _PAD, _ROW_LINE, line, w - 2 * _PAD, align)
        x += w
    pdf.set_draw_color(160, 160, 160)
    pdf.line(pdf.l_margin, y + height, pdf.l_margin + full, y + height)
    pdf.set_xy(pdf.l_margin, y + height)


def _draw(pdf: _Document, letter: Letter, m: Mapping) -> None:
    pdf.add_page()
    _paragraph(pdf, letter.program_name, 15, 7, bold=True)
    _line(pdf, m["title"], 12, 7)
    pdf.set_draw_color(90, 90, 90)
    pdf.line(pdf.l_margin, pdf.get_y() + 1, pdf.w - pdf.r_margin, pdf.get_y() + 1)
    pdf.ln(4)
    _field(pdf, m["candidate"], letter.candidate_id)
    if letter.candidate_name:
        _field(pdf, m["candidate_name"], letter.candidate_name)
    _field(pdf, m["test_date"], test_date_text(letter, m))
    _field(pdf, m["form"], letter.form_id)

    _heading(pdf, m["result_heading"])
    pdf.set_text_color(0, 90, 40) if letter.passed else pdf.set_text_color(150, 20, 20)
    _line(pdf, m["result_pass"] if letter.passed else m["result_fail"], 18, 10, bold=True)
    pdf.set_text_color(0, 0, 0)
    _line(pdf, m["scaled_score"].format(scaled=letter.scaled), 11, 6, bold=True)
    _paragraph(pdf, m["scale"].format(low=letter.scale_low, high=letter.scale_high, cut=letter.scale_cut)
               + " " + m["decision_note"], 10, 5)

    _heading(pdf, m["areas_heading"])
    _table_row(pdf, (m["area_column"], m["correct_column"], m["band_column"]), bold=True)
    for area in letter.areas:
        _table_row(pdf, (area.title, m["correct"].format(correct=area.correct, n=area.n_items),
                         m[BAND_KEYS[area.band]]), bold=False)
    pdf.ln(2)
    _paragraph(pdf, m["areas_explanation"].format(min_items=letter.min_items), 8.5, 4.2)

    if not letter.passed:
        _heading(pdf, m["study_heading"])
        _paragraph(pdf, m[f"study_{letter.study_kind}"], 10, 5)
        for title in letter.study:
            _paragraph(pdf, "- " + title, 10, 5, indent=5)
        _heading(pdf, m["retake_heading"])
        _paragraph(pdf, m["retake_rules"].format(**letter.retake), 10, 5)

    pdf.ln(5)
    _paragraph(pdf, letter.contact, 9, 4.6)
    pdf.ln(1)
    _paragraph(pdf, m["privacy"], 9, 4.6)


def render_letter(letter: Letter, messages: Mapping, fonts: Mapping[str, str] | None = None) -> bytes:
    """One candidate's report as PDF bytes."""
    pdf = _Document(fonts)
    _draw(pdf, letter, messages)
    return bytes(pdf.output())


class MergedLetters:
    """All letters in one PDF, in the order added (each letter starts a new page)."""

    def __init__(self, fonts: Mapping[str, str] | None = None):
        self._pdf = _Document(fonts)

    def add(self, letter: Letter, messages: Mapping) -> None:
        _draw(self._pdf, letter, messages)

    def output(self) -> bytes:
        return bytes(self._pdf.output())
