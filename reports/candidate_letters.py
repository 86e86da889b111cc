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

import zlib
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
    """One candidate's report as PDF bytes, drawn and written by fpdf2 (the path for TrueType fonts;
    :class:`LetterPages` is the fast one for the core font)."""
    pdf = _Document(fonts)
    _draw(pdf, letter, messages)
    return bytes(pdf.output())


class MergedLetters:
    """All letters in one PDF drawn by fpdf2, in the order added (each letter starts a new page)."""

    def __init__(self, fonts: Mapping[str, str] | None = None):
        self._pdf = _Document(fonts)

    def add(self, letter: Letter, messages: Mapping) -> None:
        _draw(self._pdf, letter, messages)

    def output(self) -> bytes:
        return bytes(self._pdf.output())


class LetterPages:
    """Letters in the core font, each drawn once: fpdf2 lays out and draws every letter into one long-lived
    document, and each letter's pages come back as finished (optionally zlib-compressed) content streams. The
    same streams make the candidate's own PDF (:meth:`document` of one letter's pages) and the merged one (of
    all letters' pages, in order), so the two carry exactly the same drawing. fpdf2 cannot import pages from
    another PDF, hence this small writer: the letters use two standard Type 1 fonts and no images, so a file
    is a catalogue, a page tree, one shared resource dictionary and the pages (PDF 1.4, ISO 32000-1 § 7.5)."""

    def __init__(self, compress: bool = True, level: int = 6):
        self._pdf = _Document(None)
        self._compress, self._level = compress, level
        # Register both fonts before any page, in a fixed order, so /F1 and /F2 mean the same in every process.
        self._pdf.use(10, bold=True)
        self._pdf.use(10)
        self._fonts = sorted((font.i, font.name) for font in self._pdf.fonts.values())
        self._size = (self._pdf.w_pt, self._pdf.h_pt)
        self._head = _resources_head(self._fonts, self._size)

    def draw(self, letter: Letter, messages: Mapping) -> tuple[bytes, ...]:
        """Draw one letter; its pages' content streams (compressed when asked)."""
        pdf = self._pdf
        first = pdf.page + 1
        # Start from the state of a fresh document (fpdf2 carries the font and colours into a new page), so
        # a letter's bytes do not depend on the letter drawn before it. Anything this writes goes to the
        # previous letter's last page, already handed back.
        pdf.set_draw_color(0)
        pdf.set_fill_color(0)
        pdf.set_text_color(0)
        pdf.use(10)
        _draw(pdf, letter, messages)
        streams = []
        for number in range(first, pdf.page + 1):
            page = pdf.pages[number]
            data = bytes(page.contents)
            page.contents = bytearray()  # the drawing document keeps no letter once it is handed back
            streams.append(zlib.compress(data, self._level) if self._compress else data)
        return tuple(streams)

    def document(self, pages: Sequence[bytes]) -> bytes:
        """A PDF file of these pages (content streams from :meth:`draw`), in order."""
        return _pdf_file(self._head, pages, self._compress)


def _resources_head(fonts: Sequence[tuple[int, str]], size: tuple[float, float]) -> list[bytes]:
    """The page tree's media box, then objects 3.. of every file: the shared resources and one object per font."""
    refs = " ".join(f"/F{i} {4 + k} 0 R" for k, (i, _) in enumerate(fonts))
    head = [f"<< /ProcSet [/PDF /Text] /Font << {refs} >> >>".encode()]
    head += [f"<< /Type /Font /Subtype /Type1 /BaseFont /{name} /Encoding /WinAnsiEncoding >>".encode()
             for _, name in fonts]
    media = f"/MediaBox [0 0 {size[0]:.2f} {size[1]:.2f}]".encode()
    return [media, *head]


def _pdf_file(head: Sequence[bytes], pages: Sequence[bytes], compressed: bool) -> bytes:
    """Serialise: 1 catalogue, 2 page tree, 3 resources, fonts, then (page, content stream) pairs; xref table."""
    media, *shared = head
    first_page = 3 + len(shared)
    kids = " ".join(f"{first_page + 2 * k} 0 R" for k in range(len(pages))).encode()
    bodies = [b"<< /Type /Catalog /Pages 2 0 R >>",
              b"<< /Type /Pages /Kids [" + kids + b"] /Count " + str(len(pages)).encode() + b" " + media + b" >>",
              *shared]
    flate = b" /Filter /FlateDecode" if compressed else b""
    for k, stream in enumerate(pages):
        bodies.append(b"<< /Type /Page /Parent 2 0 R /Resources 3 0 R /Contents %d 0 R >>" % (first_page + 2 * k + 1))
        bodies.append(b"<< /Length %d%s >>\nstream\n%s\nendstream" % (len(stream), flate, stream))
    out = [b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n"]
    offsets, position = [], len(out[0])
    for number, body in enumerate(bodies, start=1):
        chunk = b"%d 0 obj\n%s\nendobj\n" % (number, body)
        offsets.append(position)
        position += len(chunk)
        out.append(chunk)
    xref = [b"xref\n0 %d\n0000000000 65535 f \n" % (len(bodies) + 1)]
    xref += [b"%010d 00000 n \n" % offset for offset in offsets]
    out += xref
    out.append(b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(bodies) + 1, position))
    return b"".join(out)
