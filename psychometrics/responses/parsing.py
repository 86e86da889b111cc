"""Checking and scoring a response table: the rules of a wide response file, on cells already read.

A response table is wide: ``candidate_id``, optional group columns (``form_id``, ``language``, any others),
then one column per item id. Cells are option labels (A–F, case-insensitive; or digits 1–6 with
``numeric_options``) or already-scored 0/1; blank, ``*`` and ``-`` mean no response. Every problem is
collected with row and column (the header is row 1) and raised at once. Reading the file into ``Columns`` is
``workflows.tables``; this module sees only cells.
"""
from __future__ import annotations

from typing import Mapping, Sequence

import numpy as np
import pandas as pd

from certbank_core.text import CONTROL_CHARACTERS, text_problem
from psychometrics.responses.cells import Columns, Problems, clean_cells, clean_value
from psychometrics.responses.matrix import (CANDIDATE_COLUMN, CODE_OMIT, FORM_COLUMN, LANGUAGE_COLUMN, NO_RESPONSE, OPTION_LABELS,
                                            ResponseMatrix, from_option_codes, from_scored)

#: What a cell holds (``_value_kind``), besides an option index 0–5; everything below KIND_NONE is not a label.
KIND_NONE, KIND_ZERO, KIND_ONE, KIND_INVALID = -1, -2, -3, -4
def _item_rows(values: np.ndarray, problems: Problems, column: str,
               file_kind: str) -> list[tuple[int, str, str]]:
    """The rows (row number, item id, value of ``column``) of a small table with an ``item_id`` column
    (``values``: (n_rows + 1, n_columns) object array, header first), rows blank in both skipped. A missing
    column raises at once."""
    values = clean_cells(values)
    header = [str(h).strip().lower() for h in values[0]]
    if "item_id" not in header or column not in header:
        problems.add("header", f"{file_kind} needs the columns 'item_id' and '{column}'", row=1)
        problems.raise_if_any()
    ci, cv = header.index("item_id"), header.index(column)
    rows = [(r, str(row[ci]), str(row[cv])) for r, row in enumerate(values[1:], start=2)]
    return [(r, item, value) for r, item, value in rows if item != "" or value != ""]



def parse_key(values: np.ndarray, problems: Problems) -> dict[str, str]:
    """A key table: columns ``item_id,key`` (``values``: object array, header row first); keys A–F (any
    case) or digits 1–6 (= A–F).

    Every problem (missing columns, blank or duplicate item ids, keys outside A–F) is raised at once.
    """
    rows = _item_rows(values, problems, "key", "a key file")
    key: dict[str, str] = {}
    first_row: dict[str, int] = {}
    for r, item, given in rows:
        label = given.upper()
        if item == "":
            problems.add("blank id", "the item id is blank", r, "item_id")
            continue
        if label.isdigit() and 1 <= int(label) <= len(OPTION_LABELS):
            label = OPTION_LABELS[int(label) - 1]
        if label not in OPTION_LABELS:
            problems.add("bad key", f"key '{given}' of item {item} is not an option label A–F", r, "key")
        if item in key or item in first_row:
            problems.add("duplicate", f"item {item} appears again (first in row {first_row[item]})", r, "item_id")
            continue
        first_row[item] = r
        key[item] = label
    if not first_row and not problems.items:
        problems.add("empty", "the key file has no items")
    problems.raise_if_any()
    return key



def parse_item_areas(values: np.ndarray, problems: Problems) -> dict[str, str]:
    """Item content areas from a table with columns ``item_id`` and ``area`` (``values``: object array, header
    row first), e.g. a key file with an extra ``area`` column. Blank or duplicate ids and blank areas are
    problems, all reported at once.
    """
    rows = _item_rows(values, problems, "area", "an areas file")
    areas: dict[str, str] = {}
    first_row: dict[str, int] = {}
    for r, item, area in rows:
        if item == "":
            problems.add("blank id", "the item id is blank", r, "item_id")
        elif area == "":
            problems.add("blank area", f"item {item} has no area", r, "area")
        elif item in first_row:
            problems.add("duplicate", f"item {item} appears again (first in row {first_row[item]})", r, "item_id")
        else:
            first_row[item] = r
            areas[item] = area
    problems.raise_if_any()
    return areas



def parse_responses(table: Columns, problems: Problems, *, key: Mapping[str, str] | None = None,
                   options: Mapping[str, Sequence[str]] | None = None, numeric_options: bool = False,
                   not_reached_rule: bool = True, item_ids: Sequence[str] | None = None,
                   form_id: str | None = None, group_columns: Sequence[str] = ()) -> ResponseMatrix:
    """Check a wide response table (``table``: its cells column by column) and score it; problems are
    collected in ``problems`` (which names the file) and raised together.

    key: item_id -> key label (needed for option-label data; not for 0/1 data). options: item_id -> the labels
    the item offers (e.g. from ``Bank.form_options``); labels outside them are problems. Without options,
    any label A–F is accepted and an item's options run from A to the highest label seen or keyed.
    item_ids: the items expected (e.g. a form's); defaults to the key's items. form_id: if the file has a
    ``form_id`` column, every row must carry this form. group_columns: extra non-item column names (columns
    between ``candidate_id`` and the first item column are group columns anyway).

    Raises one InputError listing every problem: empty file, missing candidate_id, duplicate candidate ids,
    unknown item columns, items of the key/form without a column, labels outside an item's options, cells
    that are neither labels nor 0/1, all-blank item columns, rows of another form.
    """
    header = [clean_value(h) for h in table.header]
    if table.n_rows == 0:
        problems.add("file", "the file has a header but no candidate rows")
        problems.raise_if_any()

    lower = [h.lower() for h in header]
    if CANDIDATE_COLUMN not in lower:
        problems.add("header", "there is no 'candidate_id' column", row=1)
        problems.raise_if_any()
    seen_cols: dict[str, int] = {}
    for c, h in enumerate(header):
        if h == "":
            problems.add("header", f"column {c + 1} has no name", row=1)
        elif h in seen_cols:
            problems.add("header", f"column name '{h}' is used twice", row=1, column=h)
        seen_cols.setdefault(h, c)

    expected = tuple(item_ids) if item_ids is not None else (tuple(key) if key is not None else None)
    cand = lower.index(CANDIDATE_COLUMN)
    named_groups = {FORM_COLUMN, LANGUAGE_COLUMN} | {g.lower() for g in group_columns}
    start = _first_item_column(header, table, cand, named_groups, expected, numeric_options)
    if start is None:
        problems.add("header", "no item columns found" + (" matching the key/form" if expected else ""), row=1)
        problems.raise_if_any()
    group_idx = [c for c in range(len(header)) if c != cand and (c < start or lower[c] in named_groups)]
    item_idx = [c for c in range(start, len(header)) if c not in group_idx and header[c] != ""]
    items = tuple(header[c] for c in item_idx)

    if expected is not None:
        exp = set(expected)
        for c in item_idx:
            if header[c] not in exp:
                problems.add("unknown item", f"item '{header[c]}' is not on the form/key", 1, header[c])
        present = set(items)
        for i in expected:
            if i not in present:
                problems.add("missing item", f"item {i} is on the form/key but the file has no column for it")

    ids = table.cleaned(cand)
    _check_candidate_ids(ids, header[cand], problems)
    _check_text(table, header, [cand, *group_idx], problems)

    groups = pd.DataFrame({header[c]: table.cleaned(c) for c in group_idx})
    form_col = next((header[c] for c in group_idx if lower[c] == FORM_COLUMN), None)
    if form_id is not None and form_col is not None:
        for r in np.flatnonzero(groups[form_col].to_numpy() != str(form_id)):
            problems.add("form", f"form_id '{groups[form_col].iloc[r]}' is not the analysed form '{form_id}'",
                         int(r) + 2, form_col)

    unknown = set(items) - set(expected) if expected is not None else set()
    matrix = _parse_cells(table, item_idx, items, key, options, numeric_options, unknown, problems)
    problems.raise_if_any()
    raw, scored_input, opts = matrix
    person_ids = ids.astype(object)
    if scored_input:
        return from_scored(raw, item_ids=items, person_ids=person_ids, groups=groups,
                           not_reached_rule=not_reached_rule)
    return from_option_codes(raw, key, item_ids=items, person_ids=person_ids, options=opts, groups=groups,
                             not_reached_rule=not_reached_rule)



def _check_candidate_ids(ids: np.ndarray, column: str, problems: Problems) -> None:
    """Blank and repeated candidate ids, in row order; a repeat names the row where the id first appears."""
    codes, _ = pd.factorize(ids)
    first = np.full(codes.max(initial=-1) + 1, len(ids), dtype=np.intp)
    np.minimum.at(first, codes, np.arange(len(ids)))
    rows = np.arange(len(ids))
    blank = ids == ""
    repeated = ~blank & (first[codes] < rows)
    for r in np.flatnonzero(blank | repeated):
        if blank[r]:
            problems.add("blank id", "the candidate id is blank", int(r) + 2, column)
        else:
            problems.add("duplicate id", f"candidate id '{ids[r]}' also appears in row {first[codes[r]] + 2}",
                         int(r) + 2, column)



def _check_text(table: Columns, header, columns, problems: Problems) -> None:
    """Header cells, candidate ids and group values (language, form …) by the one text rule of certbank
    (``certbank_core.text``): a control character (BEL, ESC, NUL) would reach a workbook, which cannot hold it."""
    for c, h in enumerate(header):
        if CONTROL_CHARACTERS.search(h):
            problems.add("control character", f"the column name {text_problem(h)}", 1, repr(h)[1:-1])
    for c in columns:
        codes, values = table.distinct(c)
        for i, v in enumerate(values):
            wrong = text_problem(v)
            if wrong:
                for r in np.flatnonzero(codes == i):
                    problems.add("bad text", f"'{repr(v)[1:-1]}' {wrong}", int(r) + 2, header[c])


def _looks_like_responses(values: np.ndarray, numeric_options: bool) -> bool:
    """Whether a column's distinct (cleaned) values are all response cells, not all blank."""
    allowed = {"0", "1"} | NO_RESPONSE | set(OPTION_LABELS) | {o.lower() for o in OPTION_LABELS}
    if numeric_options:
        allowed |= {str(d) for d in range(1, len(OPTION_LABELS) + 1)}
    vals = set(values)
    return bool(vals) and vals <= allowed and not vals <= NO_RESPONSE



def _first_item_column(header, table: Columns, cand, named_groups, expected, numeric_options) -> int | None:
    """Where the item block starts: the first column of the key/form, else the first response-like column."""
    for c in range(len(header)):
        if c == cand or header[c].lower() in named_groups or header[c] == "":
            continue
        if expected is not None:
            if header[c] in set(expected):
                return c
        elif _looks_like_responses(table.distinct(c)[1], numeric_options):
            return c
    if expected is not None:
        # no column matches the key: every column after candidate_id and the named groups is an item
        rest = [c for c in range(cand + 1, len(header)) if header[c].lower() not in named_groups]
        return rest[0] if rest else None
    return None



def _value_kind(value: str, numeric_options: bool) -> int:
    """What a cleaned cell value is: its option index 0–5, or KIND_NONE / KIND_ZERO / KIND_ONE / KIND_INVALID."""
    v = value.upper()
    if v in NO_RESPONSE:
        return KIND_NONE
    if numeric_options:
        return int(v) - 1 if v.isdigit() and 1 <= int(v) <= len(OPTION_LABELS) else KIND_INVALID
    if v in OPTION_LABELS:
        return OPTION_LABELS.index(v)
    return {"0": KIND_ZERO, "1": KIND_ONE}.get(v, KIND_INVALID)



def _cell_kinds(table: Columns, columns: Sequence[int], numeric_options: bool) -> np.ndarray:
    """(n_rows, len(columns)) int8 ``_value_kind`` of every cell, classifying each distinct value once."""
    kinds: dict[str, int] = {}
    out = np.empty((len(columns), table.n_rows), dtype=np.int8)  # filled column by column, contiguously
    for j, c in enumerate(columns):
        codes, values = table.distinct(c)
        for v in values:
            if v not in kinds:
                kinds[v] = _value_kind(v, numeric_options)
        np.take(np.array([kinds[v] for v in values], dtype=np.int8), codes, out=out[j])
    return out.T



def _parse_cells(table: Columns, item_idx, items, key, options, numeric_options, unknown, problems):
    """Classify every cell (label, 0/1, no response, invalid) via the few distinct values; report problems.

    item_idx: the table columns of ``items``.
    Returns (option codes (uint8) or scored floats, is_scored_input, options dict or None).
    """
    n, k = table.n_rows, len(item_idx)
    cell_kind = _cell_kinds(table, item_idx, numeric_options)
    is_zero_one = (cell_kind == KIND_ZERO) | (cell_kind == KIND_ONE)
    scored_input = not bool((cell_kind >= 0).any()) and bool(is_zero_one.any())

    if scored_input:
        invalid = cell_kind == KIND_INVALID
        what = "is not 0, 1 or blank (the file holds scored 0/1 data)"
    else:
        invalid = cell_kind < KIND_NONE
        what = ("is not an option number 1–6 or blank" if numeric_options
                else "is not an option label A–F or blank")
    def cell(r, c):
        codes, values = table.distinct(item_idx[c])
        return values[codes[r]]

    for r, c in zip(*np.nonzero(invalid)):
        problems.add("bad cell", f"'{cell(r, c)}' {what}", int(r) + 2, items[c])

    blank_cols = (cell_kind == KIND_NONE).all(axis=0) if n else np.zeros(k, dtype=bool)
    for c in np.flatnonzero(blank_cols):
        if items[c] in unknown:
            continue  # already reported as not on the form/key
        problems.add("blank column", "every cell of this item column is blank (no one answered it)", 1, items[c])

    if scored_input:
        scored = np.where(is_zero_one, (cell_kind == KIND_ONE).astype(float), np.nan)
        return scored, True, None

    if key is None and k:
        problems.add("key", "the responses are option labels, so a key is needed (--key or --form)")
        return None, False, None

    opts: dict[str, tuple[str, ...]] | None = None
    if options is not None:
        opts = {item: tuple(str(o).upper() for o in options[item]) for item in items if item in options}
        # offered[c, i]: item c offers option i (items without options are reported as unknown already)
        offered = np.array([[o in opts.get(item, OPTION_LABELS) for o in OPTION_LABELS] for item in items],
                           dtype=bool).reshape(k, len(OPTION_LABELS))
        outside = (cell_kind >= 0) & ~np.take_along_axis(offered, np.maximum(cell_kind, 0).T, axis=1).T
        items_outside = outside.any(axis=0)
        for c, item in enumerate(items):
            if item not in opts:
                continue
            allowed = opts[item]
            for r in np.flatnonzero(outside[:, c]) if items_outside[c] else ():
                problems.add("outside options",
                             f"'{cell(r, c)}' is not one of this item's options {', '.join(allowed)}",
                             int(r) + 2, item)
            if key is not None and item in key and key[item] not in allowed:
                problems.add("key outside options",
                             f"the key '{key[item]}' is not one of this item's options {', '.join(allowed)}",
                             1, item)
    if key is not None:
        for item in items:
            if item in key and key[item] not in OPTION_LABELS:
                problems.add("bad key", f"the key '{key[item]}' is not an option label A–F", 1, item)
    # option codes, one byte a cell: option index i (A–F), no response CODE_OMIT (the not-reached rule comes
    # later); cell_kind is not used again, so its kinds < 0 become CODE_OMIT in place
    raw = cell_kind.view(np.uint8)
    np.copyto(raw, CODE_OMIT, where=cell_kind < 0)
    return np.ascontiguousarray(raw), False, opts

