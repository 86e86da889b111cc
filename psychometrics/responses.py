"""Reading, checking and scoring candidate response files.

A response file is wide: ``candidate_id``, optional group columns (``form_id``, ``language``, any others),
then one column per item id. Cells are option labels (A–F, case-insensitive; or digits 1–6 with
``numeric_options``, meaning A–F) or already-scored 0/1. Blank, ``*`` and ``-`` mean no response.

Omitted versus not reached (Iteman 4 manual conventions): a run of no-responses at the END of a
candidate's record (in item-column order) is "not reached"; any other no-response is "omitted". Omits are
scored wrong; not-reached cells are NaN in ``scored`` so they drop out of that item's N. Both rules can be
switched off (``not_reached_rule=False`` makes every no-response an omit).

Every problem in a file is collected (with file, row and column) and raised at once as one ``InputError``.
Rows are numbered as a spreadsheet user sees them: the header is row 1, the first candidate row 2.
Getting the cells out of a .csv/.xlsx file (fast for plain CSV) is ``table_files``; checking and scoring
them is here.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from functools import cached_property
from pathlib import Path
from typing import Mapping, Sequence

import numpy as np
import pandas as pd

from psychometrics.table_files import Columns, Problems, clean_cells, clean_value, read_cells, read_columns

#: Option labels a multiple-choice item may use, in order.
OPTION_LABELS = ("A", "B", "C", "D", "E", "F")
#: Cell values meaning "no response".
NO_RESPONSE = frozenset({"", "*", "-"})
#: Column names recognised as the candidate id and as standard group columns (case-insensitive).
CANDIDATE_COLUMN = "candidate_id"
FORM_COLUMN = "form_id"
LANGUAGE_COLUMN = "language"

#: Integer codes of ``ResponseMatrix.option_codes``: 0–5 are options A–F (or, for scored input, 0 = wrong and
#: 1 = right), then these two.
CODE_OMIT = 6
CODE_NOT_REACHED = 7
N_CODES = 8
#: Labels of the two pseudo-options of already-scored data.
SCORED_LABELS = ("0", "1")



@dataclass(frozen=True, eq=False)
class ResponseMatrix:
    """Candidates' responses to items, scored, with the raw labels and the omit / not-reached masks.

    person_ids: (n_persons,) str; item_ids: (n_items,);
    scored: (n_persons, n_items) float — 1 right, 0 wrong (including omitted), NaN not reached;
    raw: (n_persons, n_items) '<U1' upper-case option labels, '' = no response; None for scored input;
    omitted, not_reached: (n_persons, n_items) bool;
    groups: one row per person (index 0..n-1): form_id, language and any other non-item columns;
    key: item_id -> key label (None for scored input); options: item_id -> labels the item offers.
    """

    person_ids: np.ndarray
    item_ids: tuple[str, ...]
    scored: np.ndarray
    raw: np.ndarray | None
    omitted: np.ndarray
    not_reached: np.ndarray
    groups: pd.DataFrame = field(repr=False)
    key: dict[str, str] | None = None
    options: dict[str, tuple[str, ...]] | None = None

    @property
    def n_persons(self) -> int:
        return int(self.scored.shape[0])

    @property
    def n_items(self) -> int:
        return int(self.scored.shape[1])

    @cached_property
    def option_codes(self) -> np.ndarray:
        """(n_persons, n_items) uint8: option index 0–5 (A–F), CODE_OMIT, CODE_NOT_REACHED.

        For scored input the two pseudo-options are 0 = wrong and 1 = right (labels ``SCORED_LABELS``).
        """
        if self.raw is not None:
            # A '<U1' array viewed as uint32 gives each cell's code point: 'A' is 65 and '' is 0, which wraps
            # to 191 in uint8; min(·, CODE_OMIT) maps it to CODE_OMIT and adding the not-reached mask (0/1)
            # moves not-reached cells on to CODE_NOT_REACHED. Three cheap passes, no boolean indexing.
            points = np.ascontiguousarray(self.raw, dtype="<U1").view(np.uint32).reshape(self.raw.shape)
            codes = points.astype(np.uint8)
            codes -= 65
            np.minimum(codes, CODE_OMIT, out=codes)
            codes += self.not_reached.view(np.uint8) if self.not_reached.dtype == bool else self.not_reached
            return codes
        codes = np.nan_to_num(self.scored, nan=0.0).astype(np.uint8)
        codes[self.omitted] = CODE_OMIT
        codes[self.not_reached] = CODE_NOT_REACHED
        return codes

    @cached_property
    def key_codes(self) -> np.ndarray:
        """(n_items,) int: the code of each item's key (1 for scored input, where code 1 means right)."""
        if self.key is None:
            return np.ones(self.n_items, dtype=np.int64)
        return np.array([OPTION_LABELS.index(self.key[i]) for i in self.item_ids], dtype=np.int64)

    def option_labels(self, item_id: str) -> tuple[str, ...]:
        """The labels an item offers (for scored input: '0' and '1')."""
        if self.options is None:
            return SCORED_LABELS
        return self.options[item_id]

    def subset(self, rows) -> "ResponseMatrix":
        """The same items for a subset of persons (a boolean mask or integer positions)."""
        rows = np.asarray(rows)
        if rows.dtype == bool:
            rows = np.flatnonzero(rows)
        return replace(
            self,
            person_ids=self.person_ids[rows],
            scored=self.scored[rows],
            raw=None if self.raw is None else self.raw[rows],
            omitted=self.omitted[rows],
            not_reached=self.not_reached[rows],
            groups=self.groups.iloc[rows].reset_index(drop=True),
        )

    def select_items(self, item_ids: Sequence[str]) -> "ResponseMatrix":
        """The same persons for a subset (or reordering) of the items."""
        pos = [self.item_ids.index(i) for i in item_ids]
        return replace(
            self,
            item_ids=tuple(item_ids),
            scored=self.scored[:, pos],
            raw=None if self.raw is None else self.raw[:, pos],
            omitted=self.omitted[:, pos],
            not_reached=self.not_reached[:, pos],
            key=None if self.key is None else {i: self.key[i] for i in item_ids},
            options=None if self.options is None else {i: self.options[i] for i in item_ids},
        )


# ------------------------------------------------------------------------------------------------------
# Building a matrix from arrays (the one place scoring and the not-reached rule are applied)
# ------------------------------------------------------------------------------------------------------

def not_reached_mask(no_response: np.ndarray) -> np.ndarray:
    """The trailing run of no-responses in each row (Iteman's "not reached" rule).

    no_response: (n_persons, n_items) bool. Returns a bool array of the same shape, True from the cell
    after each person's last response to the end of the row (the whole row if the person answered nothing).
    """
    no_response = np.asarray(no_response, dtype=bool)
    n_items = no_response.shape[1]
    answered = ~no_response
    # index of the last answered cell, −1 if none
    last = n_items - 1 - np.argmax(answered[:, ::-1], axis=1)
    last = np.where(answered.any(axis=1), last, -1)
    return np.arange(n_items)[None, :] > last[:, None]


def score(raw, key, item_ids: Sequence[str] | None = None, not_reached=None) -> np.ndarray:
    """Score option labels against a key: 1 right, 0 wrong or omitted, NaN not reached.

    raw: (n_persons, n_items) labels ('' = no response); key: a sequence of n_items labels, or a dict
    item_id -> label together with ``item_ids``; not_reached: optional (n_persons, n_items) bool.
    """
    if isinstance(key, Mapping):
        if item_ids is None:
            raise ValueError("a key given as a dict needs item_ids")
        key = [key[i] for i in item_ids]
    return _score_upper(_upper_labels(raw), _upper_labels(np.asarray(key, dtype="<U1")), not_reached)


def _score_upper(raw: np.ndarray, key: np.ndarray, not_reached) -> np.ndarray:
    """``score`` of labels already through ``_upper_labels``: (n_persons, n_items) '<U1' against (n_items,)."""
    # equal one-character labels have equal code points; comparing those is cheaper than comparing strings
    scored = (_points(raw) == _points(key)[None, :]).astype(float)
    if not_reached is not None:
        np.copyto(scored, np.nan, where=np.asarray(not_reached, dtype=bool))
    return scored


def from_labels(raw, key: Mapping[str, str] | Sequence[str], *, item_ids: Sequence[str] | None = None,
                person_ids=None, options: Mapping[str, Sequence[str]] | None = None,
                groups: pd.DataFrame | None = None, not_reached_rule: bool = True) -> ResponseMatrix:
    """A ResponseMatrix from an array of option labels (already valid) and a key.

    raw: (n_persons, n_items) labels A–F or '' for no response (any case). Options default to A up to the
    highest label seen or keyed for each item.
    """
    raw = _upper_labels(raw)
    n_persons, n_items = raw.shape
    if item_ids is None:
        item_ids = tuple(key) if isinstance(key, Mapping) else tuple(f"item{j + 1}" for j in range(n_items))
    item_ids = tuple(str(i) for i in item_ids)
    if not isinstance(key, Mapping):
        key = dict(zip(item_ids, key))
    key = {i: str(key[i]).upper() for i in item_ids}
    points = _points(raw)
    no_response = points == 0
    nr = not_reached_mask(no_response) if not_reached_rule else np.zeros_like(no_response)
    # option index of the highest label in each column (negative when the column has none)
    highest = points.max(axis=0, initial=0).astype(np.int64) - ord("A")
    given = options or {}
    options = {}
    for j, item in enumerate(item_ids):
        if item in given:
            options[item] = tuple(str(o).upper() for o in given[item])
        else:
            top = max(int(highest[j]), OPTION_LABELS.index(key[item]), 1)
            options[item] = OPTION_LABELS[: top + 1]
    return ResponseMatrix(
        person_ids=_person_ids(person_ids, n_persons),
        item_ids=item_ids,
        scored=_score_upper(raw, _upper_labels(np.array([key[i] for i in item_ids], dtype="<U1")), nr),
        raw=raw,
        omitted=no_response & ~nr,
        not_reached=nr,
        groups=groups.reset_index(drop=True) if groups is not None else pd.DataFrame(index=range(n_persons)),
        key=key,
        options=options,
    )


def _upper_labels(raw) -> np.ndarray:
    """Upper-case a '<U1' label array through its code points (np.char.upper is ~100× slower); the
    no-response marks '*' and '-' become ''."""
    raw = np.array(raw, dtype="<U1", copy=True, order="C")
    points = _points(raw)
    np.subtract(points, 32, out=points, where=(points >= ord("a")) & (points <= ord("z")))
    np.copyto(points, 0, where=(points == ord("*")) | (points == ord("-")))
    return raw


def _points(labels: np.ndarray) -> np.ndarray:
    """The code point of each cell of a C-contiguous '<U1' array, as a uint32 view of the same memory
    ('' is 0, 'A' is 65)."""
    return labels.view(np.uint32).reshape(labels.shape)


def from_scored(scored, *, item_ids: Sequence[str] | None = None, person_ids=None,
                groups: pd.DataFrame | None = None, not_reached_rule: bool = True) -> ResponseMatrix:
    """A ResponseMatrix from 0/1 data; NaN cells are no response (omitted or, if trailing, not reached)."""
    scored = np.array(scored, dtype=float)
    n_persons, n_items = scored.shape
    if item_ids is None:
        item_ids = tuple(f"item{j + 1}" for j in range(n_items))
    no_response = np.isnan(scored)
    nr = not_reached_mask(no_response) if not_reached_rule else np.zeros_like(no_response)
    omitted = no_response & ~nr
    scored[omitted] = 0.0
    return ResponseMatrix(
        person_ids=_person_ids(person_ids, n_persons),
        item_ids=tuple(str(i) for i in item_ids),
        scored=scored,
        raw=None,
        omitted=omitted,
        not_reached=nr,
        groups=groups.reset_index(drop=True) if groups is not None else pd.DataFrame(index=range(n_persons)),
    )


def _person_ids(person_ids, n_persons: int) -> np.ndarray:
    if person_ids is None:
        return np.array([str(i + 1) for i in range(n_persons)], dtype=object)
    return np.asarray([str(p) for p in person_ids], dtype=object)


# ------------------------------------------------------------------------------------------------------
# Files
# ------------------------------------------------------------------------------------------------------

def _read_item_rows(path, column: str, file_kind: str) -> tuple[Problems, list[tuple[int, str, str]]]:
    """The problems so far and the rows (row number, item id, value of ``column``) of a small file with an
    ``item_id`` column, rows blank in both skipped. An unreadable file or a missing column raises at once."""
    path = Path(path)
    problems = Problems(str(path))
    values = read_cells(path, problems)
    if values is None:
        problems.raise_if_any()
    values = clean_cells(values)
    header = [str(h).strip().lower() for h in values[0]]
    if "item_id" not in header or column not in header:
        problems.add("header", f"{file_kind} needs the columns 'item_id' and '{column}'", row=1)
        problems.raise_if_any()
    ci, cv = header.index("item_id"), header.index(column)
    rows = [(r, str(row[ci]), str(row[cv])) for r, row in enumerate(values[1:], start=2)]
    return problems, [(r, item, value) for r, item, value in rows if item != "" or value != ""]


def read_key_file(path) -> dict[str, str]:
    """Read a key file: columns ``item_id,key`` (.csv or .xlsx); keys A–F (any case) or digits 1–6 (= A–F).

    Every problem (missing columns, blank or duplicate item ids, keys outside A–F) is raised at once.
    """
    problems, rows = _read_item_rows(path, "key", "a key file")
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


def read_item_areas(path) -> dict[str, str]:
    """Read item content areas from a file with columns ``item_id`` and ``area`` (.csv or .xlsx), e.g. a key
    file with an extra ``area`` column. Blank or duplicate ids and blank areas are problems, all reported at once.
    """
    problems, rows = _read_item_rows(path, "area", "an areas file")
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


def read_responses(path, *, key: Mapping[str, str] | None = None,
                   options: Mapping[str, Sequence[str]] | None = None, numeric_options: bool = False,
                   not_reached_rule: bool = True, item_ids: Sequence[str] | None = None,
                   form_id: str | None = None, group_columns: Sequence[str] = ()) -> ResponseMatrix:
    """Read and check a wide response file (.csv or .xlsx) and score it.

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
    path = Path(path)
    problems = Problems(str(path))
    table = read_columns(path, problems)
    if table is None:
        problems.raise_if_any()
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
    return from_labels(raw, key, item_ids=items, person_ids=person_ids, options=opts, groups=groups,
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


#: What a cell holds (``_value_kind``), besides an option index 0–5; everything below KIND_NONE is not a label.
KIND_NONE, KIND_ZERO, KIND_ONE, KIND_INVALID = -1, -2, -3, -4


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
    Returns (raw labels or scored floats, is_scored_input, options dict or None).
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

    # labels through their code points: option index i is chr(65 + i), no response is ''
    raw = np.ascontiguousarray(np.where(cell_kind >= 0, cell_kind + 65, 0), dtype=np.uint32).view("<U1")
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
    return raw, False, opts
