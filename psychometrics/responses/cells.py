"""Cells of a table as the response parsers see them, and the collector of problems found in them.

``Columns`` holds a table column by column as distinct (cleaned) values with each row's index into them, so
a parser checks a few distinct values per column, never each cell. How a file becomes ``Columns`` (numpy for
plain CSV, pandas for the rest) is the application's business (``workflows.tables``); this module knows no
files. ``Problems`` collects what is wrong, with row and column, to raise all at once.
"""
from __future__ import annotations

import re

import numpy as np
import pandas as pd

from certbank_core.errors import InputError, Problem

#: At most this many problems of one kind are listed one by one; the rest are summarised in one line.
MAX_LISTED_PER_KIND = 25



_NUMERIC_FLOAT = re.compile(r"^(-?\d+)\.0+$")



class Problems:
    """Collects problems, listing at most MAX_LISTED_PER_KIND of each kind one by one."""

    def __init__(self, file: str):
        self.file = file
        self.items: list[Problem] = []
        self._counts: dict[str, int] = {}

    def add(self, kind: str, message: str, row: int | None = None, column: str | None = None) -> None:
        n = self._counts.get(kind, 0) + 1
        self._counts[kind] = n
        if n <= MAX_LISTED_PER_KIND:
            self.items.append(Problem(message, self.file, row, column))

    def raise_if_any(self) -> None:
        extra = [Problem(f"... and {n - MAX_LISTED_PER_KIND} more problems like those above ({kind})", self.file)
                 for kind, n in self._counts.items() if n > MAX_LISTED_PER_KIND]
        if self.items:
            raise InputError(self.items + extra)



def clean_cells(values: np.ndarray) -> np.ndarray:
    """Strip cells and turn spreadsheet floats like '1.0' into '1' (object array in, object array out)."""
    # A file has few distinct cell values: clean those once, then map back (hash-based, fast).
    codes, uniques = pd.factorize(values.ravel(), use_na_sentinel=False)
    return np.array([clean_value(u) for u in uniques], dtype=object)[codes].reshape(values.shape)



def clean_value(u) -> str:
    """A cell as text: stripped, '' for an empty cell, and '1.0' (how spreadsheets store 1) as '1'.

    Only an empty cell is empty here: the text 'NaN', 'None' or 'nan' stays what it is, so a parser reports
    it with its row and column instead of reading it silently as no response (the documented codes for no
    response are blank, '*' and '-')."""
    if not isinstance(u, str):
        if u is None or pd.isna(u):
            return ""
        u = str(u)
    v = u.strip()
    if "." in v:
        v = _NUMERIC_FLOAT.sub(r"\1", v)
    return v



class Columns:
    """A table read column by column: the header cells and, for each column, the distinct (cleaned) values
    of its body rows with each row's index into them.

    A response file has a handful of distinct values per item column, so each distinct value is cleaned
    and classified once and mapped back to the rows with a numpy take: no Python work per cell.
    ``distinct_of(c)`` gives (codes (n_rows,) intp, raw distinct values) for column c.
    """

    def __init__(self, header: list, n_rows: int, distinct_of):
        self.header = header
        self.n_rows = n_rows
        self._distinct_of = distinct_of
        self._cache: dict[int, tuple[np.ndarray, np.ndarray]] = {}

    def distinct(self, c: int) -> tuple[np.ndarray, np.ndarray]:
        """(codes (n_rows,) uint8/uint16/intp, cleaned distinct values: object array of str) of column c."""
        if c not in self._cache:
            codes, values = self._distinct_of(c)
            # the smallest integer type that holds the codes: an item column has a handful of distinct values,
            # so a million rows cost 1 MB, not the 8 MB of intp
            dtype = np.uint8 if len(values) <= 256 else np.uint16 if len(values) <= 65536 else np.intp
            self._cache[c] = (np.asarray(codes).astype(dtype, copy=False),
                              np.array([clean_value(v) for v in values], dtype=object))
        return self._cache[c]

    def cleaned(self, c: int) -> np.ndarray:
        """(n_rows,) '<U' array: the cleaned cells of column c."""
        codes, values = self.distinct(c)
        return values[codes].astype(str)

