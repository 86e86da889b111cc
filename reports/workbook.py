"""Shared building blocks of every certbank workbook: styles, safe cell writing, tables, charts, print set-up,
document properties and the atomic save.

Reports render result objects; they compute nothing. Text that comes from items or data is always written as
text (``data_type = 's'`` and a quote prefix), so a stem that begins with ``=`` is never a formula in Excel or
LibreOffice.
"""
from __future__ import annotations

import datetime as _dt
import math
import os
from pathlib import Path
from typing import Iterable, Mapping, Sequence

import numpy as np
import pandas as pd
from openpyxl import Workbook
from openpyxl.chart import BarChart, LineChart, Reference, ScatterChart, Series
from openpyxl.formatting.rule import CellIsRule, FormulaRule
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from certbank_core import __version__
from certbank_core.files import atomic_write, check_output_path, set_text, sha256_of

HEADER_FILL = PatternFill("solid", fgColor="1F4E78")
HEADER_FONT = Font(bold=True, color="FFFFFF")
TITLE_FONT = Font(bold=True, size=14, color="1F4E78")
SUBTITLE_FONT = Font(bold=True, size=11, color="1F4E78")
KEY_FILL = PatternFill("solid", fgColor="E2EFDA")
SEVERITY_FILLS = {
    "critical": PatternFill("solid", fgColor="F4B6B6"),
    "severe": PatternFill("solid", fgColor="F8CBAD"),
    "review": PatternFill("solid", fgColor="FFF2CC"),
}
GOOD_FILL = PatternFill("solid", fgColor="C6EFCE")
BAD_FILL = PatternFill("solid", fgColor="FFC7CE")
THIN = Side(style="thin", color="BFBFBF")
BORDER = Border(bottom=THIN)
WRAP = Alignment(wrap_text=True, vertical="top")

#: How workbooks name language codes.
LANGUAGE_NAMES = {"en": "English", "es": "Spanish"}

#: Number formats by the kind of statistic a column holds (P to 2 decimals, correlations to 2, etc.).
FORMATS = {
    "proportion": "0.00",
    "correlation": "0.00",
    "parameter": "0.000",
    "score": "0.0",
    "integer": "0",
    "percent": "0.0%",
    "pvalue": '[<0.001]"< .001";0.000',
    "count": "#,##0",
}



def new_workbook(title: str, settings: Mapping[str, object] | None = None,
                 input_files: Iterable[str | os.PathLike] = ()) -> Workbook:
    """A workbook with document properties for the audit trail: title, date, software version, input file
    checksums and the settings of the run."""
    wb = Workbook()
    props = wb.properties
    props.title = title
    props.creator = f"certbank {__version__}"
    props.created = _dt.datetime.now(_dt.timezone.utc).replace(tzinfo=None)
    lines = [f"certbank {__version__}"]
    for f in input_files:
        lines.append(f"input {Path(f).name} sha256={sha256_of(f)}")
    for k, v in (settings or {}).items():
        lines.append(f"{k}={v}")
    props.description = "; ".join(lines)[:2000]
    props.keywords = "certbank"
    return wb


def safe_value(value):
    """A value ready for a cell: NaN/None → empty, numpy scalars → Python, everything else unchanged."""
    if value is None:
        return None
    if isinstance(value, (np.bool_, bool)):
        return bool(value)
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (np.floating, float)):
        v = float(value)
        return None if math.isnan(v) or math.isinf(v) else v
    if isinstance(value, (pd.Timestamp, _dt.datetime, _dt.date)):
        return value
    if value is pd.NA:
        return None
    return value


def write_cell(ws: Worksheet, row: int, col: int, value, number_format: str | None = None):
    """Write one cell; strings are always stored as text, never as formulas."""
    cell = ws.cell(row=row, column=col)
    value = safe_value(value)
    if isinstance(value, str):
        set_text(cell, value)
    else:
        cell.value = value
        if number_format and isinstance(value, (int, float)):
            cell.number_format = number_format
    return cell


def write_title(ws: Worksheet, title: str, subtitle: str | None = None) -> int:
    """A sheet title (and optional subtitle); returns the next free row."""
    write_cell(ws, 1, 1, title).font = TITLE_FONT
    if subtitle:
        write_cell(ws, 2, 1, subtitle).font = Font(italic=True, color="595959")
        return 4
    return 3


def write_table(ws: Worksheet, frame: pd.DataFrame, start_row: int = 1, start_col: int = 1,
                formats: Mapping[str, str] | None = None, widths: Mapping[str, float] | None = None,
                freeze: bool = True, autofilter: bool = True, wrap: Sequence[str] = (),
                headers: Mapping[str, str] | None = None) -> tuple[int, int]:
    """Write ``frame`` as a table with a styled header row; returns (first data row, last data row).

    ``formats`` maps column names to number formats; ``headers`` renames columns for readers.
    """
    formats = dict(formats or {})
    headers = dict(headers or {})
    columns = list(frame.columns)
    for j, name in enumerate(columns):
        cell = write_cell(ws, start_row, start_col + j, headers.get(name, str(name)))
        cell.fill = HEADER_FILL
        cell.font = HEADER_FONT
        cell.alignment = Alignment(wrap_text=True, vertical="center")
    values = frame.to_numpy(dtype=object)
    for i in range(values.shape[0]):
        r = start_row + 1 + i
        for j, name in enumerate(columns):
            cell = write_cell(ws, r, start_col + j, values[i, j], formats.get(name))
            if name in wrap:
                cell.alignment = WRAP
    last_row = start_row + values.shape[0]
    if wrap:
        wrap_width = {name: (widths or {}).get(name, 60) for name in wrap if name in columns}
        for i in range(values.shape[0]):
            lines = max((wrapped_lines(values[i, columns.index(n)], w) for n, w in wrap_width.items()), default=1)
            if lines > 1:
                ws.row_dimensions[start_row + 1 + i].height = LINE_HEIGHT * lines
    for j, name in enumerate(columns):
        letter = get_column_letter(start_col + j)
        if widths and name in widths:
            ws.column_dimensions[letter].width = widths[name]
        else:
            sample = [len(str(headers.get(name, name)))] + [len(str(v)) for v in values[:200, j] if v is not None]
            ws.column_dimensions[letter].width = min(max(8, max(sample) + 2), 60)
    if freeze and start_row >= 1:
        ws.freeze_panes = ws.cell(row=start_row + 1, column=start_col)
    if autofilter and values.shape[0] > 0:
        ws.auto_filter.ref = (f"{get_column_letter(start_col)}{start_row}:"
                              f"{get_column_letter(start_col + len(columns) - 1)}{last_row}")
    print_setup(ws, header_row=start_row)
    return start_row + 1, last_row


#: Points per wrapped line of 11-point text; spreadsheets do not grow rows for wrapped text written by a
#: library (LibreOffice and print previews keep the default height), so we set the height ourselves.
LINE_HEIGHT = 15.0


def wrapped_lines(value, width_chars: float) -> int:
    if value is None:
        return 1
    text = str(value)
    return sum(max(1, math.ceil(len(part) / max(width_chars * 1.05, 1))) for part in text.split("\n"))


def write_table_or_note(ws: Worksheet, frame: pd.DataFrame | None, start_row: int, empty_note: str,
                        **table_options) -> tuple[int, int] | None:
    """``write_table`` when there is something to show; otherwise one sentence saying why there is not.
    Returns the table's (first, last) data rows, or None for the note."""
    if frame is None or frame.empty:
        write_sentences(ws, [empty_note], start_row)
        return None
    return write_table(ws, frame, start_row=start_row, **table_options)


def write_sentences(ws: Worksheet, lines: Iterable[str], start_row: int, width: int = 110) -> int:
    """Plain-language sentences, one per row, wrapped across a wide first column; returns next free row."""
    ws.column_dimensions["A"].width = max(ws.column_dimensions["A"].width or 0, width)
    r = start_row
    for line in lines:
        cell = write_cell(ws, r, 1, line)
        cell.alignment = WRAP
        n = wrapped_lines(line, ws.column_dimensions["A"].width)
        if n > 1:
            ws.row_dimensions[r].height = LINE_HEIGHT * n
        r += 1
    return r + 1


def write_key_values(ws: Worksheet, values: Mapping[str, object], start_row: int, header: str = "statistic",
                     labels: Mapping[str, str] | None = None, formats: Mapping[str, str] | None = None) -> int:
    """A two-column table of named numbers (a summary): label, value. Floats get ``formats[key]`` or three
    decimals. Returns the last row written."""
    labels, formats = dict(labels or {}), dict(formats or {})
    frame = pd.DataFrame({header: [labels.get(k, k) for k in values], "value": [safe_value(v) for v in values.values()]})
    _, last = write_table(ws, frame, start_row=start_row, freeze=False, autofilter=False,
                          widths={header: 110, "value": 14})
    for r, key in zip(range(start_row + 1, last + 1), values):
        cell = ws.cell(row=r, column=2)
        if isinstance(cell.value, float):
            cell.number_format = formats.get(key, "0.000")
    return last


def highlight_rows(ws: Worksheet, first_row: int, last_row: int, n_cols: int, predicate_col: int,
                   fills: Mapping[str, PatternFill], exact: bool = False) -> None:
    """Conditional formatting: colour a whole row by the text in ``predicate_col`` (e.g. severity).

    With ``exact`` the cell must equal the word; otherwise it must contain it."""
    if last_row < first_row:
        return
    col_letter = get_column_letter(predicate_col)
    rng = f"A{first_row}:{get_column_letter(n_cols)}{last_row}"
    for word, fill in fills.items():
        ws.conditional_formatting.add(
            rng, FormulaRule(formula=[f'${col_letter}{first_row}="{word}"' if exact else
                                      f'ISNUMBER(SEARCH("{word}",${col_letter}{first_row}))'],
                             fill=fill, stopIfTrue=True))


def highlight_cells(ws: Worksheet, cell_range: str, operator: str, value: float, fill: PatternFill) -> None:
    ws.conditional_formatting.add(cell_range, CellIsRule(operator=operator, formula=[str(value)], fill=fill))


def print_setup(ws: Worksheet, header_row: int | None = None) -> None:
    """Landscape, fit to one page wide, header rows repeated on every printed page."""
    ws.page_setup.orientation = "landscape"
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    if header_row:
        ws.print_title_rows = f"{header_row}:{header_row}"


def line_chart(ws: Worksheet, title: str, x_title: str, y_title: str, x_ref: tuple[int, int, int],
               series: Sequence[tuple[int, int, int]], anchor: str, width: float = 18, height: float = 9,
               scatter: bool = True):
    """A native Excel chart of columns already written on ``ws``.

    ``x_ref`` and each of ``series`` are (column, first row including header, last row).
    Scatter with lines is used so that x is numeric (θ, score) rather than categories.
    """
    col, r1, r2 = x_ref
    xvalues = Reference(ws, min_col=col, min_row=r1 + 1, max_row=r2)
    if scatter:
        chart = ScatterChart()
        chart.style = 13
        for scol, sr1, sr2 in series:
            values = Reference(ws, min_col=scol, min_row=sr1, max_row=sr2)
            s = Series(values, xvalues, title_from_data=True)
            s.marker.symbol = "none"
            s.smooth = True
            chart.series.append(s)
    else:
        chart = LineChart()
        for scol, sr1, sr2 in series:
            chart.add_data(Reference(ws, min_col=scol, min_row=sr1, max_row=sr2), titles_from_data=True)
        chart.set_categories(xvalues)
    chart.title = title
    chart.x_axis.title = x_title
    chart.y_axis.title = y_title
    chart.width, chart.height = width, height
    ws.add_chart(chart, anchor)
    return chart


def bar_chart(ws: Worksheet, title: str, x_title: str, y_title: str, x_ref: tuple[int, int, int],
              series: Sequence[tuple[int, int, int]], anchor: str, width: float = 18, height: float = 9):
    col, r1, r2 = x_ref
    chart = BarChart()
    chart.type = "col"
    chart.gapWidth = 10
    for scol, sr1, sr2 in series:
        chart.add_data(Reference(ws, min_col=scol, min_row=sr1, max_row=sr2), titles_from_data=True)
    chart.set_categories(Reference(ws, min_col=col, min_row=r1 + 1, max_row=r2))
    chart.title = title
    chart.x_axis.title = x_title
    chart.y_axis.title = y_title
    chart.width, chart.height = width, height
    ws.add_chart(chart, anchor)
    return chart


def check_writable(path: str | os.PathLike, force: bool) -> Path:
    """Refuse to overwrite an existing report unless ``force``; refuse a missing directory."""
    return check_output_path(path, suffix=".xlsx", force=force, kind="a workbook", noun="the workbook")


def save_atomic(wb: Workbook, path: str | os.PathLike, force: bool = False) -> Path:
    """Save to a temporary file in the same folder, then rename over the target: a reader never sees a
    half-written workbook and a failure leaves any earlier file untouched."""
    path = check_writable(path, force)
    atomic_write(path, wb.save)
    return path


# ---- print layout, words and colours (added for board packets) ---------------------------------------------

#: No sheet prints smaller than this (percent); wider sheets print their columns across pages instead.
MIN_PRINT_SCALE = 70
#: Printable width in inches of the narrower of Letter and A4 (0.4-inch margins): landscape Letter, portrait A4.
PRINTABLE_INCHES = {"landscape": 11.0 - 0.8, "portrait": 8.27 - 0.8}
#: Width of one unit of column width (one character of the default font) in inches, with cell padding.
INCHES_PER_CHAR = 7.0 / 96
COLUMN_PADDING_INCHES = 5.0 / 96
#: Okabe–Ito colours: distinct for readers with any common colour-vision deficiency.
COLOUR_BLIND_SAFE = ("0072B2", "E69F00", "009E73", "CC79A7", "56B4E9", "D55E00", "F0E442", "000000")


def sheet_width_inches(ws: Worksheet, first_col: int = 1, last_col: int | None = None) -> float:
    """Printed width of columns ``first_col``..``last_col`` at 100% (default: every used column)."""
    last_col = last_col or ws.max_column
    total = 0.0
    for c in range(first_col, last_col + 1):
        width = ws.column_dimensions[get_column_letter(c)].width or 8.43
        total += width * INCHES_PER_CHAR + COLUMN_PADDING_INCHES
    return total


def fit_scale(ws: Worksheet, orientation: str, last_col: int | None = None) -> float:
    """The scale (percent) at which the columns fit one page width of Letter and A4."""
    return 100.0 * min(1.0, PRINTABLE_INCHES[orientation] / max(sheet_width_inches(ws, 1, last_col), 1e-9))


def print_fit(ws: Worksheet, header_row: int | None = None, *, orientation: str | None = None,
              last_col: int | None = None, repeat_cols: str | None = "A:A") -> int:
    """Print set-up that stays legible on Letter and A4: portrait when the columns fit it at full size, else
    landscape; fit to one page wide when that needs no less than ``MIN_PRINT_SCALE``; otherwise print at
    that scale with the columns flowing onto further pages, ``repeat_cols`` (the item id) repeated on each.
    Header rows repeat on every page. Returns the scale the sheet prints at (percent)."""
    if orientation is None:
        orientation = "portrait" if fit_scale(ws, "portrait", last_col) >= 99.9 else "landscape"
    ws.page_setup.orientation = orientation
    ws.page_setup.paperSize = ws.PAPERSIZE_LETTER
    ws.page_margins.left = ws.page_margins.right = 0.4
    ws.page_margins.top = ws.page_margins.bottom = 0.5
    ws.print_options.gridLines = False
    scale = fit_scale(ws, orientation, last_col)
    if header_row:
        ws.print_title_rows = f"{header_row}:{header_row}"
    if scale >= MIN_PRINT_SCALE:
        ws.sheet_properties.pageSetUpPr.fitToPage = True
        ws.page_setup.fitToWidth = 1
        ws.page_setup.fitToHeight = 0
        return int(scale)
    ws.sheet_properties.pageSetUpPr.fitToPage = False
    ws.page_setup.scale = MIN_PRINT_SCALE
    if repeat_cols:
        ws.print_title_cols = repeat_cols
    return MIN_PRINT_SCALE


def printed_scale(ws: Worksheet) -> float:
    """The scale a sheet prints at, from its page set-up (what a test checks against ``MIN_PRINT_SCALE``)."""
    if ws.sheet_properties.pageSetUpPr is not None and ws.sheet_properties.pageSetUpPr.fitToPage:
        if ws.page_setup.fitToWidth == 1:
            last = None
            if ws.print_area:
                from openpyxl.utils.cell import range_boundaries
                last = range_boundaries(ws.print_area.split("!")[-1].replace("$", ""))[2]
            return fit_scale(ws, ws.page_setup.orientation or "portrait", last)
        return 100.0
    return float(ws.page_setup.scale or 100)


def in_words(value):
    """Booleans as a reader says them: True → 'yes', False → 'no'; everything else unchanged."""
    if isinstance(value, (bool, np.bool_)):
        return "yes" if value else "no"
    return value


def words_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with every boolean column in words (yes / no)."""
    out = frame.copy()
    for col in out.columns:
        if out[col].dtype == bool or (out[col].dtype == object and out[col].map(
                lambda v: isinstance(v, (bool, np.bool_)) or v is None).all() and out[col].notna().any()):
            out[col] = out[col].map(in_words)
    return out


def human_heading(name: str, headers: Mapping[str, str] | None = None) -> str:
    """A column heading for readers: the given one, else the field name with spaces ('mh_p' → 'Mh p')."""
    if headers and name in headers:
        return headers[name]
    text = str(name).replace("_", " ").strip()
    return text[:1].upper() + text[1:]


def colour_series(chart, colours: Sequence[str] = COLOUR_BLIND_SAFE, widths: Sequence[int] | None = None) -> None:
    """Give each line of ``chart`` its own colour-blind-safe colour (and optionally its own width, EMU)."""
    for j, series in enumerate(chart.series):
        line = series.graphicalProperties.line
        line.solidFill = colours[j % len(colours)]
        line.width = (widths[j] if widths else 22000)
