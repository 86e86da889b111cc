"""Reading tables (.csv, .xlsx) from files: cells as text, problems collected, columns as distinct values.

``read_columns`` gives a ``Columns``: for each column, the distinct cleaned values of its body rows and each
row's index into them, so callers check and convert a few distinct values per column, never each cell.
A plain CSV file (no quotes, the same number of cells on every line, as exported response matrices are) is
split with numpy in ``plain_csv_columns``; anything else goes through pandas (``read_frame``). Both give the
same cells. ``Problems`` collects what is wrong with a file, with row and column, to raise all at once.
"""
from __future__ import annotations

import re
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd

from certbank_core.errors import InputError
from psychometrics.responses.cells import Columns, Problems

#: Bytes per block when ``cell_ends`` scans a CSV file for separators.
BYTES_PER_BLOCK = 1 << 20
#: Lines per block when ``plain_csv_columns`` finds the cells of a CSV file's body.
LINES_PER_BLOCK = 1 << 15
#: Longest CSV cells (bytes) gathered into a fixed-width array to find their distinct values.
MAX_FIXED_WIDTH = 32
#: Cell id of a CSV cell longer than one byte in ``plain_csv_columns`` (ids below it are single bytes).
_LONGER_CELL = 256


def read_frame(path: Path, problems: Problems) -> pd.DataFrame | None:
    """Every cell of a .csv/.xlsx file as text (header row included, columns 0..m−1), or None after a problem."""
    if not path.exists():
        problems.add("file", "the file does not exist")
        return None
    suffix = path.suffix.lower()
    try:
        if suffix == ".csv":
            frame = pd.read_csv(path, header=None, dtype=str, keep_default_na=False, skip_blank_lines=True,
                                encoding="utf-8-sig", sep=delimiter(path))
        elif suffix in (".xlsx", ".xlsm"):
            frame = pd.read_excel(path, header=None, dtype=str, keep_default_na=False, na_values=[])
        else:
            problems.add("file", f"unsupported file type '{path.suffix}' (use .csv or .xlsx)")
            return None
    except pd.errors.EmptyDataError:
        problems.add("file", "the file is empty")
        return None
    except pd.errors.ParserError as err:
        problems.add("file", *_parser_message(err))
        return None
    except KeyError:  # pandas looks for the workbook inside the zip and finds none
        problems.add("file", "the file cannot be read: it is a zip archive without an Excel workbook inside")
        return None
    except (ValueError, OSError, UnicodeDecodeError, SyntaxError, zipfile.BadZipFile) as err:
        problems.add("file", f"the file cannot be read: {err}")  # SyntaxError: a corrupt XML part
        return None
    if frame.shape[0] == 0:
        problems.add("file", "the file is empty")
        return None
    return frame


def _parser_message(err) -> tuple[str, int | None]:
    """pandas' 'Expected 22 fields in line 5, saw 24' as (a sentence, row 5)."""
    found = re.search(r"Expected (\d+) fields in line (\d+), saw (\d+)", str(err))
    if not found:
        return f"the file cannot be read: {err}", None
    expected, line, saw = found.groups()
    return (f"the row has {saw} cells but the rows above it have {expected} (quote text that holds the "
            "separator)"), int(line)


def read_cells(path: Path, problems: Problems) -> np.ndarray | None:
    """All cells of a small .csv/.xlsx file (key, areas) as an object array, header row included."""
    frame = read_frame(path, problems)
    return None if frame is None else frame.fillna("").to_numpy(dtype=object)


def delimiter(path: Path) -> str:
    """',' unless the header line has more ';' or tabs (Excel writes ';' in locales with a decimal comma)."""
    with open(path, encoding="utf-8-sig", errors="replace") as fh:
        first = fh.readline()
    return max((",", ";", "\t"), key=lambda d: (first.count(d), d == ","))


def read_columns(path: Path, problems: Problems) -> Columns | None:
    """A response file as ``Columns``: plain CSV through ``plain_csv_columns``, anything else through pandas."""
    if path.exists() and path.suffix.lower() == ".csv":
        columns = plain_csv_columns(path, delimiter(path))
        if columns is not None:
            return columns
    frame = read_frame(path, problems)
    if frame is None:
        return None
    body = frame.iloc[1:]
    return Columns(list(frame.iloc[0]), len(body),
                    lambda c: body.iloc[:, c].factorize(use_na_sentinel=False))


def plain_csv_columns(path: Path, sep: str) -> Columns | None:
    """Split a plain CSV file into cells with numpy, or None if it is not plain (then pandas reads it).

    Plain: valid UTF-8, no quote characters, no blank lines, no bare carriage returns, the same number of
    cells on every line, at least two columns. Those files (what every export of a response matrix looks
    like) have exactly the cells pandas would give, found here from the positions of separators and newlines
    in one pass over the bytes. A cell of one byte is its own distinct-value code; longer cells (ids, stray
    spaces, '1.0') are factorized per column.
    """
    data = path.read_bytes()
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    if not data or b'"' in data or b"\x00" in data:
        return None
    if b"\r" in data:
        data = data.replace(b"\r\n", b"\n")
    if not data.endswith(b"\n"):
        data += b"\n"
    if b"\r" in data or data.startswith(b"\n") or b"\n\n" in data:
        return None
    if not data.isascii():
        try:
            data.decode("utf-8")
        except UnicodeDecodeError:
            return None
    buf = np.frombuffer(data, dtype=np.uint8)
    n_lines = data.count(b"\n")
    line_ends = np.flatnonzero(buf == ord("\n"))
    header_ends = cell_ends(buf[:line_ends[0] + 1], ord(sep))
    n_cols = len(header_ends)
    if n_cols < 2:
        return None
    header_starts = np.concatenate([[0], header_ends[:-1] + 1])
    # the body, LINES_PER_BLOCK lines at a time, so the cell positions (4–8 bytes a cell) never exist for the
    # whole file: one id per body cell, 0 empty, 1–255 the byte of a one-byte cell, 256 a longer cell, whose
    # start and end are kept (ids and other text: a few per line)
    n_body = n_lines - 1
    cell_ids = [np.empty(n_body, dtype=np.uint16) for _ in range(n_cols)]   # one array per column, freed once read
    long_rows, long_cols, long_starts, long_ends = [], [], [], []
    for first in range(0, n_body, LINES_PER_BLOCK):
        last = min(first + LINES_PER_BLOCK, n_body)
        lo, hi = int(line_ends[first]) + 1, int(line_ends[last]) + 1   # the bytes of body lines first..last−1
        ends = cell_ends(buf[lo:hi], ord(sep)).astype(np.int64)
        if len(ends) != (last - first) * n_cols:
            return None
        ends += lo
        starts = np.empty_like(ends)
        starts[0] = lo
        np.add(ends[:-1], 1, out=starts[1:])
        ends, starts = ends.reshape(-1, n_cols), starts.reshape(-1, n_cols)
        if not (buf[ends[:, -1]] == ord("\n")).all():
            return None  # a line with more or fewer cells than the others
        length = ends - starts
        ids = buf[starts].astype(np.uint16)
        np.copyto(ids, 0, where=length == 0)
        longer = length > 1
        np.copyto(ids, _LONGER_CELL, where=longer)
        for c in range(n_cols):
            cell_ids[c][first:last] = ids[:, c]
        r, c = np.nonzero(longer)
        long_rows.append(r + first)
        long_cols.append(c)
        long_starts.append(starts[r, c])
        long_ends.append(ends[r, c])
    if n_body:
        long_rows, long_cols = np.concatenate(long_rows), np.concatenate(long_cols)
        long_starts, long_ends = np.concatenate(long_starts), np.concatenate(long_ends)
        by_column = np.argsort(long_cols, kind="stable")
        long_rows, long_starts, long_ends = long_rows[by_column], long_starts[by_column], long_ends[by_column]
        bounds = np.searchsorted(long_cols[by_column], np.arange(n_cols + 1))
    else:
        bounds = np.zeros(n_cols + 1, dtype=np.intp)

    def distinct_of(c):
        # Columns calls this once per column and keeps the answer, so the column's ids can go
        ids = cell_ids[c].astype(np.intp)
        cell_ids[c] = None
        part = slice(bounds[c], bounds[c + 1])
        longer = long_rows[part]
        long_values = []
        if longer.size:  # the i-th distinct longer cell gets id 256 + i
            long_codes, long_values = distinct_byte_strings(buf, long_starts[part], long_ends[part])
            ids[longer] = _LONGER_CELL + long_codes
        present = np.zeros(_LONGER_CELL + len(long_values), dtype=bool)
        present[ids] = True
        used = np.flatnonzero(present)
        remap = np.zeros(len(present), dtype=np.intp)
        remap[used] = np.arange(len(used))
        values = ["" if i == 0 else chr(i) if i < _LONGER_CELL else long_values[i - _LONGER_CELL].decode("utf-8")
                  for i in used]
        return remap[ids], values

    header = [data[a:b].decode("utf-8") for a, b in zip(header_starts, header_ends)]
    return Columns(header, n_body, distinct_of)


def cell_ends(buf: np.ndarray, sep: int) -> np.ndarray:
    """Positions of every separator and newline in buf, in order: (n_cells,) int32 (int64 for files ≥ 2 GiB).

    Found block by block so that each block's mask stays in the CPU cache (3× faster than one pass here).
    """
    dtype = np.int32 if len(buf) < 2 ** 31 else np.int64
    blocks = []
    for start in range(0, len(buf), BYTES_PER_BLOCK):
        block = buf[start:start + BYTES_PER_BLOCK]
        found = np.flatnonzero((block == ord("\n")) | (block == sep)).astype(dtype)
        found += start
        blocks.append(found)
    return np.concatenate(blocks) if blocks else np.empty(0, dtype=dtype)


def distinct_byte_strings(buf: np.ndarray, starts: np.ndarray, ends: np.ndarray) -> tuple[np.ndarray, list]:
    """(index of each cell into the distinct values, the distinct values as bytes) of the cells buf[s:e].

    Cells up to MAX_FIXED_WIDTH bytes are copied side by side into one fixed-width bytes array and
    ``np.unique`` finds the distinct ones (no Python object per cell); the file holds no NUL byte, so the
    padding numpy strips from fixed-width bytes cannot cut a cell short. Longer cells are sliced one by one.
    """
    width = int((ends - starts).max())
    if width > MAX_FIXED_WIDTH:
        codes, values = pd.factorize(np.array([buf[a:b].tobytes() for a, b in zip(starts, ends)], dtype=object))
        return codes, list(values)
    offsets = np.arange(width)
    inside = offsets[None, :] < (ends - starts)[:, None]
    cells = np.where(inside, buf[np.minimum(starts[:, None] + offsets[None, :], len(buf) - 1)], 0)
    values, codes = np.unique(np.ascontiguousarray(cells, dtype=np.uint8).view(f"S{width}").ravel(),
                              return_inverse=True)
    return codes.ravel(), list(values)


# --------------------------------------------------------------------------------------------------------
# Files (the library calls behind `certbank equate`)
# --------------------------------------------------------------------------------------------------------
def read_numeric_table(path, required, optional=(), integer: bool = False) -> pd.DataFrame:
    """Read a .csv/.xlsx table whose ``required`` columns must hold numbers (whole numbers if ``integer``).

    Every problem (missing column, blank or non-numeric cell) is collected with file, row (header = row 1)
    and column, then raised as one InputError. Returns the required and present optional columns as floats.
    """
    from pathlib import Path

    from certbank_core.errors import Problem

    path = Path(path)
    fname = str(path)
    if not path.is_file():
        raise InputError(Problem("file not found", file=fname))
    try:
        if path.suffix.lower() in (".xlsx", ".xlsm"):
            df = pd.read_excel(path, dtype=object)
        elif path.suffix.lower() == ".csv":
            df = pd.read_csv(path, dtype=str, keep_default_na=False)
        else:
            raise InputError(Problem("must be a .csv or .xlsx file", file=fname))
    except InputError:
        raise
    except Exception as err:  # unreadable file: the user's problem, reported plainly
        raise InputError(Problem(f"cannot be read ({err})", file=fname)) from err
    df.columns = [str(c).strip().lower() for c in df.columns]
    missing = [c for c in required if c not in df.columns]
    if missing:
        raise InputError([Problem(f"column '{c}' is missing", file=fname) for c in missing])
    cols = list(required) + [c for c in optional if c in df.columns]
    problems, out = [], {}
    for col in cols:
        values = np.full(len(df), np.nan)
        for i, v in enumerate(df[col].tolist()):
            text = "" if v is None or (isinstance(v, float) and np.isnan(v)) else str(v).strip()
            try:
                values[i] = float(text)
            except ValueError:
                problems.append(Problem(f"{text!r} is not a number" if text else "blank", fname, i + 2, col))
                continue
            if integer and values[i] != np.round(values[i]):
                problems.append(Problem(f"{text} is not a whole number", fname, i + 2, col))
        out[col] = values
    if problems:
        raise InputError(problems)
    return pd.DataFrame(out)

