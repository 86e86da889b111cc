"""Response, key and areas files: read a file's cells (``workflows.tables``) and hand them to the parsers of
``psychometrics.responses``, which check every rule and raise every problem at once with file, row and column.
``scored_matrix`` adds the bank: a form's key, options and item versions.
"""
from __future__ import annotations

from pathlib import Path
from typing import Mapping, Sequence

from certbank_core.errors import InputError
from psychometrics.responses import Problems, ResponseMatrix, parse_item_areas, parse_key, parse_responses
from workflows.tables import read_cells, read_columns


#: The most columns a response file may have: the item-by-item tables of an analysis grow with the square of
#: the item count (2,000 items: about 256 MB each), and no certification form comes near it; 2,000 items fit
#: beside candidate_id and a hundred group columns.
MAX_RESPONSE_COLUMNS = 2_100
#: The most cells (candidates × columns) of a response file, checked before anything is scored.
MAX_RESPONSE_CELLS = 160_000_000


def check_size(table, file: str) -> None:
    """Refuse, in one sentence and before allocating anything, a response table too large to analyse."""
    n_cols, n_rows = len(table.header), table.n_rows
    if n_cols > MAX_RESPONSE_COLUMNS:
        raise InputError(f"{file}: the file has {n_cols:,} columns; a response file may have at most "
                         f"{MAX_RESPONSE_COLUMNS:,} (one per item, plus candidate_id and group columns).")
    if n_cols * n_rows > MAX_RESPONSE_CELLS:
        raise InputError(f"{file}: the file has {n_rows:,} rows × {n_cols:,} columns = {n_rows * n_cols:,} cells; "
                         f"at most {MAX_RESPONSE_CELLS:,} can be analysed at once (split it by form or window).")


def _cells(path) -> tuple:
    path = Path(path)
    problems = Problems(str(path))
    values = read_cells(path, problems)
    if values is None:
        problems.raise_if_any()
    return values, problems


def read_key_file(path) -> dict[str, str]:
    """A key file: columns ``item_id,key`` (.csv or .xlsx); keys A–F (any case) or digits 1–6 (= A–F)."""
    return parse_key(*_cells(path))


def read_item_areas(path) -> dict[str, str]:
    """Item content areas from a file with columns ``item_id`` and ``area`` (.csv or .xlsx)."""
    return parse_item_areas(*_cells(path))


def read_responses(path, *, key: Mapping[str, str] | None = None,
                   options: Mapping[str, Sequence[str]] | None = None, numeric_options: bool = False,
                   not_reached_rule: bool = True, item_ids: Sequence[str] | None = None,
                   form_id: str | None = None, group_columns: Sequence[str] = ()) -> ResponseMatrix:
    """Read and check a wide response file (.csv or .xlsx) and score it; the options are those of
    :func:`psychometrics.responses.parse_responses`. One InputError lists every problem of the file."""
    path = Path(path)
    problems = Problems(str(path))
    table = read_columns(path, problems)
    if table is None:
        problems.raise_if_any()
    check_size(table, str(path))
    return parse_responses(table, problems, key=key, options=options, numeric_options=numeric_options,
                           not_reached_rule=not_reached_rule, item_ids=item_ids, form_id=form_id,
                           group_columns=group_columns)


def scored_matrix(bank, responses, form_id: str | None = None, key_file=None):
    """RESPONSES scored by a bank form's key (``form_id``), a key file, or read as 0/1 data; also the form's
    item versions {item_id: version} (None without a form)."""
    if form_id and key_file:
        raise InputError("Give either --form or --key, not both.")
    key = options = versions = None
    if form_id:
        if bank is None:
            raise InputError(f"form {form_id} needs the item bank, and none was given.")
        key, options = bank.form_key(form_id), bank.form_options(form_id)
        versions = {fi.item_id: fi.version for fi in bank.get_form(form_id).items}
    elif key_file:
        key = read_key_file(key_file)
    return read_responses(responses, key=key, options=options, form_id=form_id), versions

