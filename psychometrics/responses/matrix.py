"""The response matrix and scoring: option labels and 0/1 data as persons × items arrays.

A response file is wide: ``candidate_id``, optional group columns (``form_id``, ``language``, any others),
then one column per item id. Cells are option labels (A–F, case-insensitive; or digits 1–6 with
``numeric_options``, meaning A–F) or already-scored 0/1. Blank, ``*`` and ``-`` mean no response.

Omitted versus not reached (Iteman 4 manual conventions): a run of no-responses at the END of a
candidate's record (in item-column order) is "not reached"; any other no-response is "omitted". Omits are
scored wrong; not-reached cells are NaN in ``scored`` so they drop out of that item's N. Both rules can be
switched off (``not_reached_rule=False`` makes every no-response an omit).

Checking a table of cells against these rules is ``psychometrics.responses.parsing``; reading a file into
cells is the application's (``workflows.tables``).
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from functools import cached_property
from typing import Mapping, Sequence

import numpy as np
import pandas as pd

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
    """Candidates' responses to items, stored as one byte a cell (``codes``), with everything else derived.

    person_ids: (n_persons,) str; item_ids: (n_items,);
    codes: (n_persons, n_items) uint8 — option index 0–5 (A–F; for scored input 0 = wrong, 1 = right),
    ``CODE_OMIT``, ``CODE_NOT_REACHED``; groups: one row per person (index 0..n-1): form_id, language and any
    other non-item columns; key: item_id -> key label (None for scored input); options: item_id -> labels the
    item offers. ``values``: scored input that is not all 0/1 (kept as given; None otherwise).

    Built on first use and kept: ``scored`` (n_persons, n_items) float — 1 right, 0 wrong (including omitted),
    NaN not reached (8 bytes a cell: the hot paths use ``right`` and ``not_reached`` instead); ``right`` int8
    0/1 (not reached: 0); ``raw`` '<U1' upper-case labels, '' = no response (None for scored input);
    ``omitted``, ``not_reached`` bool.
    """

    person_ids: np.ndarray
    item_ids: tuple[str, ...]
    codes: np.ndarray
    groups: pd.DataFrame = field(repr=False)
    key: dict[str, str] | None = None
    options: dict[str, tuple[str, ...]] | None = None
    values: np.ndarray | None = field(default=None, repr=False)

    @property
    def n_persons(self) -> int:
        return int(self.codes.shape[0])

    @property
    def n_items(self) -> int:
        return int(self.codes.shape[1])

    @property
    def has_labels(self) -> bool:
        """Whether the responses are option labels scored with a key (else already-scored 0/1 data)."""
        return self.key is not None

    @property
    def option_codes(self) -> np.ndarray:
        """(n_persons, n_items) uint8: option index 0–5 (A–F), CODE_OMIT, CODE_NOT_REACHED.

        For scored input the two pseudo-options are 0 = wrong and 1 = right (labels ``SCORED_LABELS``).
        """
        return self.codes

    @cached_property
    def right(self) -> np.ndarray:
        """(n_persons, n_items) int8: 1 right, 0 wrong, omitted or not reached."""
        return (self.codes == self.key_codes.astype(np.uint8)[None, :]).view(np.int8)

    @cached_property
    def scored(self) -> np.ndarray:
        """(n_persons, n_items) float: 1 right, 0 wrong (including omitted), NaN not reached."""
        if self.values is not None:
            return self.values
        scored = self.right.astype(float)
        np.copyto(scored, np.nan, where=self.not_reached)
        return scored

    @cached_property
    def raw(self) -> np.ndarray | None:
        """(n_persons, n_items) '<U1' upper-case option labels, '' = no response; None for scored input."""
        if self.key is None:
            return None
        points = self.codes.astype(np.uint32)
        points += 65
        np.copyto(points, 0, where=self.codes >= CODE_OMIT)
        return points.view("<U1")

    @cached_property
    def omitted(self) -> np.ndarray:
        return self.codes == CODE_OMIT

    @cached_property
    def not_reached(self) -> np.ndarray:
        return self.codes == CODE_NOT_REACHED

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
            codes=self.codes[rows],
            values=None if self.values is None else self.values[rows],
            groups=self.groups.iloc[rows].reset_index(drop=True),
        )

    def select_items(self, item_ids: Sequence[str]) -> "ResponseMatrix":
        """The same persons for a subset (or reordering) of the items."""
        pos = [self.item_ids.index(i) for i in item_ids]
        return replace(
            self,
            item_ids=tuple(item_ids),
            codes=self.codes[:, pos],
            values=None if self.values is None else self.values[:, pos],
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
    # code points to option codes: 'A' (65) is 0; '' (0) wraps in uint8 and min(·, CODE_OMIT) makes it an omit
    codes = (_points(raw) - 65).astype(np.uint8)
    del raw
    np.minimum(codes, CODE_OMIT, out=codes)
    return from_option_codes(codes, key, item_ids=item_ids, person_ids=person_ids, options=options, groups=groups,
                             not_reached_rule=not_reached_rule)


def from_option_codes(codes, key: Mapping[str, str] | Sequence[str], *, item_ids: Sequence[str] | None = None,
                      person_ids=None, options: Mapping[str, Sequence[str]] | None = None,
                      groups: pd.DataFrame | None = None, not_reached_rule: bool = True) -> ResponseMatrix:
    """A ResponseMatrix from option codes (uint8: 0–5 for A–F, ``CODE_OMIT`` for no response; taken over and
    changed in place: trailing no-responses become ``CODE_NOT_REACHED``) and a key."""
    codes = np.asarray(codes, dtype=np.uint8)
    n_persons, n_items = codes.shape
    if item_ids is None:
        item_ids = tuple(key) if isinstance(key, Mapping) else tuple(f"item{j + 1}" for j in range(n_items))
    item_ids = tuple(str(i) for i in item_ids)
    if not isinstance(key, Mapping):
        key = dict(zip(item_ids, key))
    key = {i: str(key[i]).upper() for i in item_ids}
    if not_reached_rule:
        _mark_not_reached(codes)
    # option index of the highest label in each column (negative when the column has none)
    highest = np.where(codes < CODE_OMIT, codes, 0).max(axis=0, initial=0).astype(np.int64) if n_persons else \
        np.zeros(n_items, dtype=np.int64)
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
        codes=codes,
        groups=groups.reset_index(drop=True) if groups is not None else pd.DataFrame(index=range(n_persons)),
        key=key,
        options=options,
    )


#: Rows per block when the not-reached rule marks codes (keeps its bool temporaries small).
_ROWS_PER_BLOCK = 1 << 15


def _mark_not_reached(codes: np.ndarray) -> None:
    """Turn each row's trailing run of ``CODE_OMIT`` into ``CODE_NOT_REACHED``, in place, block by block."""
    for start in range(0, codes.shape[0], _ROWS_PER_BLOCK):
        block = codes[start:start + _ROWS_PER_BLOCK]
        nr = not_reached_mask(block >= CODE_OMIT)
        block[nr] = CODE_NOT_REACHED


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
    scored = np.asarray(scored, dtype=float)
    n_persons, n_items = scored.shape
    if item_ids is None:
        item_ids = tuple(f"item{j + 1}" for j in range(n_items))
    no_response = np.isnan(scored)
    codes = (scored == 1).view(np.uint8).copy()
    codes[no_response] = CODE_OMIT
    if not_reached_rule:
        _mark_not_reached(codes)
    values = None
    if not np.all((scored == 0) | (scored == 1) | no_response):   # not 0/1: kept as given, omits scored 0
        values = np.array(scored, dtype=float)
        values[codes == CODE_OMIT] = 0.0
    return ResponseMatrix(
        person_ids=_person_ids(person_ids, n_persons),
        item_ids=tuple(str(i) for i in item_ids),
        codes=codes,
        groups=groups.reset_index(drop=True) if groups is not None else pd.DataFrame(index=range(n_persons)),
        values=values,
    )


def from_cells(scored, omitted, not_reached, *, item_ids: Sequence[str] | None = None, person_ids=None,
               groups: pd.DataFrame | None = None) -> ResponseMatrix:
    """A ResponseMatrix from scored cells and the two masks as given (no rule applied)."""
    scored = np.asarray(scored, dtype=float)
    n_persons, n_items = scored.shape
    codes = (scored == 1).view(np.uint8).copy()
    codes[np.asarray(omitted, dtype=bool)] = CODE_OMIT
    codes[np.asarray(not_reached, dtype=bool)] = CODE_NOT_REACHED
    finite = np.isfinite(scored)
    values = None
    if not np.all((scored[finite] == 0) | (scored[finite] == 1)):
        values = np.where(codes == CODE_NOT_REACHED, np.nan, np.nan_to_num(scored))
    return ResponseMatrix(
        person_ids=_person_ids(person_ids, n_persons),
        item_ids=tuple(f"item{j + 1}" for j in range(n_items)) if item_ids is None else tuple(map(str, item_ids)),
        codes=codes,
        groups=groups.reset_index(drop=True) if groups is not None else pd.DataFrame(index=range(n_persons)),
        values=values,
    )


def _person_ids(person_ids, n_persons: int) -> np.ndarray:
    if person_ids is None:
        return np.array([str(i + 1) for i in range(n_persons)], dtype=object)
    return np.asarray([str(p) for p in person_ids], dtype=object)
