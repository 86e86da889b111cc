"""The item wide layout: one row per item, the same columns in .xlsx, .csv and .json.

This module is the one home of the column names; ``importing`` and ``exporting`` both use it, and the
annotated template (``certbank items template``) is written from :data:`COLUMN_HELP`.
"""
from __future__ import annotations

from itembank.model import LIST_SEPARATOR, OPTION_LABELS

#: Name of the sheet holding the items in an .xlsx workbook.
ITEMS_SHEET = "items"

BASE_COLUMNS: tuple[str, ...] = (
    "item_id", "status", "primary_competency", "secondary_competencies", "cognitive_level", "key",
    "author", "source", "keywords", "enemies",
)
LANGUAGE_FIELDS: tuple[str, ...] = (
    "stem", *(f"option_{label.lower()}" for label in OPTION_LABELS), "rationale", "translation_status",
)
REQUIRED_COLUMNS: tuple[str, ...] = (
    "item_id", "primary_competency", "cognitive_level", "key", "stem_en", "option_a_en", "option_b_en",
)

COLUMN_HELP: dict[str, str] = {
    "item_id": "Stable id, e.g. PSS-0001 (letters, digits, '.', '_', '-'). Required, unique.",
    "status": "draft | review | approved | pretest | operational | retired. Blank means draft for a new "
              "item and no change for an item already in the bank; a change must follow the lifecycle.",
    "primary_competency": "Competency code that must exist in an imported framework, e.g. SAMHSA.IX.6. Required.",
    "secondary_competencies": "Optional further competency codes, separated by '; '.",
    "cognitive_level": "recall | application | analysis. Required.",
    "key": "The correct option letter (A-F), the same in every language. Required.",
    "author": "Who wrote the item.",
    "source": "Reference the item is based on (document, page).",
    "keywords": "Free keywords separated by '; '.",
    "enemies": "Item ids that must never appear on the same form as this one, separated by '; '.",
    "stem": "The question text. Required in English; leave every column of a language blank if the item has "
            "no text in it.",
    "option": "Option text. Fill options in order from A; leave the rest blank (2 to 6 options). Every "
              "language needs the same number of options.",
    "rationale": "Optional: why the key is right and the others are wrong.",
    "translation_status": "draft | translated | reviewed. Blank means draft.",
}


def language_columns(language: str) -> list[str]:
    return [f"{field}_{language}" for field in LANGUAGE_FIELDS]


def wide_columns(languages) -> list[str]:
    """All columns for the given languages, English first."""
    ordered = sorted(set(languages) | {"en"}, key=lambda lang: (lang != "en", lang != "es", lang))
    return [*BASE_COLUMNS, *(c for lang in ordered for c in language_columns(lang))]


def column_help(column: str) -> str:
    if column in COLUMN_HELP:
        return COLUMN_HELP[column]
    field, _, lang = column.rpartition("_")
    if field.startswith("option_"):
        field = "option"
    return f"[{lang}] {COLUMN_HELP.get(field, '')}"


def split_list(cell: str) -> list[str]:
    """Split a '; '-separated cell, tolerating ';' without a space and stray blanks; keeps order, drops repeats."""
    out: list[str] = []
    for part in (cell or "").split(";"):
        part = part.strip()
        if part and part not in out:
            out.append(part)
    return out


def join_list(values) -> str:
    return LIST_SEPARATOR.join(values)
