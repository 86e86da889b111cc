"""Writing items in the wide layout (.xlsx, .csv, .json) and the annotated empty template.

Exports are what imports read: exporting a bank and importing the file into a new bank (with the same
frameworks) gives identical item content. Files are written atomically (a temporary file in the same
folder, then ``os.replace``), so an error never leaves half a file.

Formula injection: a cell whose text starts with ``=``, ``+``, ``-`` or ``@`` is written to .xlsx as a
text cell with Excel's quote prefix, so Excel shows it and never evaluates it.
"""
from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Callable, Iterable

from certbank_core.errors import InputError, Problem
from certbank_core.files import atomic_write, set_text
from itembank.layout import ITEMS_SHEET, column_help, join_list, language_columns, wide_columns
from itembank.model import OPTION_LABELS, Item

SUFFIXES = (".xlsx", ".csv", ".json")
#: The .xlsx export's second sheet: one row per item × administration × group (``Bank.statistics_table``).
STATISTICS_SHEET = "statistics"
TEMPLATE_LANGUAGES = ("en", "es")


def item_row(item: Item, languages: Iterable[str]) -> dict[str, str]:
    """One item (current version) as a wide-layout row of strings."""
    v = item.current
    row = {
        "item_id": item.item_id, "status": item.status.value, "primary_competency": v.primary_competency,
        "secondary_competencies": join_list(v.secondary_competencies), "cognitive_level": v.cognitive_level.value,
        "key": v.key, "author": v.author, "source": v.source, "keywords": join_list(v.keywords),
        "enemies": join_list(item.enemies),
    }
    for lang in languages:
        t = v.text(lang)
        cols = language_columns(lang)
        if t is None:
            row.update({c: "" for c in cols})
            continue
        row[f"stem_{lang}"] = t.stem
        for i, label in enumerate(OPTION_LABELS):
            row[f"option_{label.lower()}_{lang}"] = t.options[i] if i < len(t.options) else ""
        row[f"rationale_{lang}"] = t.rationale
        row[f"translation_status_{lang}"] = t.translation_status.value
    return row


def export_items(bank, path: str | Path, item_ids: Iterable[str] | None = None) -> int:
    """Write the bank's items (current versions) to ``path``; the format follows the extension. An .xlsx
    also gets the sheet ``statistics``: the items' history across administrations."""
    path = Path(path)
    _check_target(path)
    items = bank.items(item_ids)
    languages = {lang for it in items for lang in it.current.languages} or set(TEMPLATE_LANGUAGES)
    columns = wide_columns(languages)
    langs = [c[len("stem_"):] for c in columns if c.startswith("stem_")]
    rows = [item_row(it, langs) for it in items]
    extra = None
    if path.suffix.lower() == ".xlsx":  # CSV and JSON hold one table: the items, as imports read them
        stats = bank.statistics_table(None if item_ids is None else [it.item_id for it in items])
        extra = {STATISTICS_SHEET: (list(stats.columns), [_sheet_row(r) for r in stats.to_dict("records")])}
    write_table(path, columns, rows, extra_sheets=extra)
    return len(rows)


def _sheet_row(record: dict) -> dict:
    """A statistics row for a sheet: numbers stay numbers (whole ones as int), missing values are None."""
    out = {}
    for k, v in record.items():
        if v is None or (isinstance(v, float) and v != v):
            out[k] = None
        elif isinstance(v, float) and v.is_integer() and k in ("n", "version", "parameter_set_id"):
            out[k] = int(v)
        else:
            out[k] = v
    return out


def write_template(path: str | Path, languages: Iterable[str] = TEMPLATE_LANGUAGES) -> None:
    """Write an empty .xlsx template: the header row with a comment on every column, and an
    'instructions' sheet listing every column with what it holds."""
    path = Path(path)
    if path.suffix.lower() != ".xlsx":
        raise InputError(Problem("the template is an Excel workbook: give a name ending in .xlsx", str(path)))
    _check_target(path)
    write_table(path, wide_columns(languages), [], annotate=True)


def write_table(path: Path, columns: list[str], rows: list[dict[str, str]], annotate: bool = False,
                extra_sheets: dict[str, tuple[list[str], list[dict]]] | None = None) -> None:
    """Write ``rows`` (strings) under ``columns``; an .xlsx also gets ``extra_sheets`` (name → columns, rows)."""
    suffix = path.suffix.lower()
    writer: Callable[[Path], None]
    if suffix == ".csv":
        def writer(tmp: Path) -> None:
            with open(tmp, "w", newline="", encoding="utf-8-sig") as fh:
                w = csv.writer(fh)
                w.writerow(columns)
                w.writerows([[r.get(c, "") for c in columns] for r in rows])
    elif suffix == ".json":
        def writer(tmp: Path) -> None:
            data = [{c: r.get(c, "") for c in columns} for r in rows]
            tmp.write_text(json.dumps(data, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    else:
        def writer(tmp: Path) -> None:
            wb = _xlsx(columns, rows, annotate)
            for name, (sheet_columns, sheet_rows) in (extra_sheets or {}).items():
                _plain_sheet(wb.create_sheet(name), sheet_columns, sheet_rows)
            wb.save(tmp)
    atomic_write(path, writer)






def _xlsx(columns: list[str], rows: list[dict[str, str]], annotate: bool):
    import openpyxl
    from openpyxl.comments import Comment
    from openpyxl.styles import Alignment, Font, PatternFill

    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = ITEMS_SHEET
    bold = Font(bold=True)
    fill = PatternFill("solid", fgColor="DDEBF7")
    for j, col in enumerate(columns, start=1):
        cell = ws.cell(row=1, column=j)
        set_text(cell, col)
        cell.font, cell.fill = bold, fill
        if annotate:
            cell.comment = Comment(column_help(col), "certbank", width=320, height=120)
        ws.column_dimensions[cell.column_letter].width = 40 if col.startswith(("stem_", "rationale_")) else 16
    wrap = Alignment(wrap_text=True, vertical="top")
    for i, row in enumerate(rows, start=2):
        for j, col in enumerate(columns, start=1):
            value = row.get(col, "")
            if value:
                cell = ws.cell(row=i, column=j)
                set_text(cell, value)
                if "\n" in value:
                    cell.alignment = wrap
    ws.freeze_panes = "B2"
    if annotate:
        info = wb.create_sheet("instructions")
        set_text(info.cell(row=1, column=1), "column")
        set_text(info.cell(row=1, column=2), "what it holds")
        info["A1"].font = info["B1"].font = bold
        info.column_dimensions["A"].width = 26
        info.column_dimensions["B"].width = 110
        for i, col in enumerate(columns, start=2):
            set_text(info.cell(row=i, column=1), col)
            set_text(info.cell(row=i, column=2), column_help(col))
        n = len(columns) + 3
        set_text(info.cell(row=n, column=1), "Fill the 'items' sheet, one row per item from row 2; keep the "
                                             "header row. Then run: certbank items import FILE.xlsx")
    return wb


def _plain_sheet(ws, columns: list[str], rows: list[dict]) -> None:
    """A header row and values: numbers as numbers, text as text cells (never formulas)."""
    from openpyxl.styles import Font

    for j, col in enumerate(columns, start=1):
        set_text(ws.cell(row=1, column=j), col)
        ws.cell(row=1, column=j).font = Font(bold=True)
    for i, row in enumerate(rows, start=2):
        for j, col in enumerate(columns, start=1):
            value = row.get(col)
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                ws.cell(row=i, column=j).value = value
            elif value not in (None, ""):
                set_text(ws.cell(row=i, column=j), str(value))
    ws.freeze_panes = "B2"


def _check_target(path: Path) -> None:
    problems = []
    if path.suffix.lower() not in SUFFIXES:
        problems.append(Problem("unsupported file type; use .xlsx, .csv or .json", str(path)))
    if not path.parent.exists():
        problems.append(Problem(f"the folder {path.parent} does not exist", str(path)))
    if problems:
        raise InputError(problems)
