"""Reading standard-setting input files, every problem collected (file, row, column), and computing from them
(``angoff_from_file``, ``hofstee_from_files``, ...). The jobs behind `certbank cutscore ...` that combine these
with the bank and write the outputs are in ``workflows.standards``.

Ratings file for the modified Angoff method (csv or xlsx), LONG layout: one row per rating with columns
``rater_id``, ``item_id``, ``rating`` (the probability 0–1 that a minimally qualified candidate answers the
item correctly), optional ``round`` (integer, default 1) and any other columns = rater metadata (e.g.
``role``, ``region``; constant per rater). WIDE layout is accepted too: columns ``rater_id``, optional
``round``, then one column per item id; metadata columns in the wide layout start with ``rater_``.
Score files: a ``score`` column (raw number correct), optionally a group column such as ``language``.
Hofstee judgments: k_min, k_max, f_min, f_max; Beuk judgments: cut, pass_rate (all percents).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from certbank_core.errors import InputError, Problem
from psychometrics.irt.models import ItemParameters
from psychometrics.standards.setting import (AngoffRatings, AngoffResult, CompromiseResult, beuk, hofstee, impact,
                                             modified_angoff)
from workflows.tables import read_numeric_table


def _read_table(path: Path) -> pd.DataFrame:
    if not path.exists():
        raise InputError(Problem("file not found", file=str(path)))
    suffix = path.suffix.lower()
    try:
        if suffix in (".xlsx", ".xlsm"):
            return pd.read_excel(path, dtype=object)
        if suffix == ".csv":
            return pd.read_csv(path, dtype=str, keep_default_na=False)
    except Exception as err:  # a corrupt file is the user's problem, reported plainly
        raise InputError(Problem(f"cannot be read ({err})", file=str(path))) from err
    raise InputError(Problem("must be a .csv or .xlsx file", file=str(path)))


def _blank(v) -> bool:
    return v is None or (isinstance(v, float) and np.isnan(v)) or str(v).strip() == ""


def read_angoff_ratings(path, item_ids=None, rater_ids=None) -> AngoffRatings:
    """Read a ratings file (long or wide layout; see the module docstring), collecting every problem.

    item_ids: the form's items (ratings for other items are errors; each form item needs a rating from every
    rater in every round). rater_ids: the panel roster, if any (other raters are errors).
    Raises one InputError listing every problem with file, row (header = row 1) and column.
    """
    path = Path(path)
    df = _read_table(path)
    df.columns = [str(c).strip() for c in df.columns]
    fname = str(path)
    problems: list[Problem] = []
    if "rater_id" not in df.columns:
        raise InputError(Problem("column 'rater_id' is missing", file=fname))
    if "item_id" in df.columns:
        if "rating" not in df.columns:
            raise InputError(Problem("column 'rating' is missing (long layout: rater_id, item_id, rating)",
                                     file=fname))
        long = df.assign(_row=np.arange(len(df)) + 2)
        meta_cols = [c for c in df.columns if c not in ("rater_id", "item_id", "rating", "round")]
    else:
        item_cols = [c for c in df.columns if c not in ("rater_id", "round") and not c.startswith("rater_")]
        meta_cols = [c for c in df.columns if c.startswith("rater_") and c != "rater_id"]
        if item_ids is not None:
            # An unknown item is a column here: report it once, on the header row.
            unknown = [c for c in item_cols if c not in set(item_ids)]
            problems += [Problem(f"unknown item {c} (not on the form)", fname, 1, c) for c in unknown]
            item_cols = [c for c in item_cols if c not in unknown]
        base = df.assign(_row=np.arange(len(df)) + 2)
        long = base.melt(id_vars=["rater_id", "_row"] + (["round"] if "round" in df else []) + meta_cols,
                         value_vars=item_cols, var_name="item_id", value_name="rating")
    records = []
    known_items = set(item_ids) if item_ids is not None else None
    known_raters = set(map(str, rater_ids)) if rater_ids is not None else None
    for rec in long.to_dict("records"):
        row = int(rec["_row"])
        rater = "" if _blank(rec["rater_id"]) else str(rec["rater_id"]).strip()
        item = "" if _blank(rec["item_id"]) else str(rec["item_id"]).strip()
        wide = "item_id" not in df.columns
        rating_col = item if wide else "rating"
        bad = False
        if not rater:
            problems.append(Problem("rater_id is blank", fname, row, "rater_id"))
            bad = True
        elif known_raters is not None and rater not in known_raters:
            problems.append(Problem(f"unknown rater {rater}", fname, row, "rater_id"))
            bad = True
        if not item:
            problems.append(Problem("item_id is blank", fname, row, "item_id"))
            bad = True
        elif known_items is not None and item not in known_items:
            problems.append(Problem(f"unknown item {item} (not on the form)", fname, row,
                                    item if wide else "item_id"))
            bad = True
        rnd = 1
        if "round" in rec and not _blank(rec["round"]):
            try:
                rnd = int(float(str(rec["round"])))
            except ValueError:
                problems.append(Problem(f"round {rec['round']!r} is not a whole number", fname, row, "round"))
                bad = True
        value = rec["rating"]
        if _blank(value):
            problems.append(Problem(f"missing rating for item {item}", fname, row, rating_col))
            bad = True
        else:
            try:
                value = float(str(value).strip())
            except ValueError:
                problems.append(Problem(f"rating {value!r} is not a number", fname, row, rating_col))
                bad = True
            else:
                if not 0.0 <= value <= 1.0 or np.isnan(value):
                    problems.append(Problem(f"rating {value:g} is outside 0–1 (give probabilities, not percents)",
                                            fname, row, rating_col))
                    bad = True
        if not bad:
            records.append((rnd, rater, item, value, row))
    raters = sorted({r for _, r, _, _, _ in records} | (known_raters or set()))
    items = list(item_ids) if item_ids is not None else sorted({i for _, _, i, _, _ in records})
    rounds = sorted({k for k, _, _, _, _ in records}) or [1]
    cells: dict = {}
    for rnd, rater, item, value, row in records:
        if (rnd, rater, item) in cells:
            problems.append(Problem(f"second rating by {rater} for item {item} in round {rnd} "
                                    f"(first at row {cells[(rnd, rater, item)][1]})", fname, row, "rating"))
        else:
            cells[(rnd, rater, item)] = (value, row)
    seen_raters = {r for _, r, _, _, _ in records}
    for rnd in rounds:
        for rater in raters:
            if rater not in seen_raters and known_raters is not None:
                continue  # a roster member with no ratings at all is reported once below
            missing = [i for i in items if (rnd, rater, i) not in cells]
            if missing:
                shown = ", ".join(missing[:10]) + (" …" if len(missing) > 10 else "")
                problems.append(Problem(f"rater {rater} has no rating in round {rnd} for {len(missing)} item(s): "
                                        f"{shown}", fname, None, "rating"))
    if known_raters is not None:
        for rater in sorted(known_raters - seen_raters):
            problems.append(Problem(f"rater {rater} on the roster has no ratings", fname, None, "rater_id"))
    if problems:
        # Problems without a row (missing ratings) go last so the file order is easy to follow.
        problems.sort(key=lambda p: (p.row is None, p.row or 0))
        raise InputError(problems)
    raters = sorted(seen_raters)
    arr = np.array([[[cells[(k, r, i)][0] for i in items] for r in raters] for k in rounds])
    info = long[["rater_id"] + meta_cols].drop_duplicates("rater_id") if meta_cols else pd.DataFrame()
    if not info.empty:
        info = info.assign(rater_id=info["rater_id"].astype(str).str.strip())
    return AngoffRatings(tuple(raters), tuple(items), tuple(rounds), arr, info)


def read_roster(path) -> list[str]:
    """Rater ids from a .csv/.xlsx panel roster with a ``rater_id`` column (other columns are ignored)."""
    path = Path(path)
    df = _read_table(path)
    df.columns = [str(c).strip() for c in df.columns]
    if "rater_id" not in df.columns:
        raise InputError(Problem("column 'rater_id' is missing", file=str(path)))
    return [str(v).strip() for v in df["rater_id"] if not _blank(v)]


def angoff_from_file(path, params: ItemParameters | None = None, item_ids=None, p_values=None,
                     rater_ids=None, roster_path=None) -> AngoffResult:
    """Read a ratings file and compute the modified Angoff cut (the library call behind the CLI).

    The panel roster comes from ``rater_ids`` or a roster file (``roster_path``)."""
    if roster_path is not None:
        rater_ids = read_roster(roster_path)
    if item_ids is None and params is not None:
        item_ids = params.item_ids
    data = read_angoff_ratings(path, item_ids=item_ids, rater_ids=rater_ids)
    return modified_angoff(data.ratings, p_values=p_values, params=params, rater_ids=data.rater_ids,
                           rounds=data.rounds, rater_info=data.rater_info)


#: Column names of a raw-score file, in order of preference: ``score``, or ``raw`` as `certbank score` writes.
SCORE_COLUMNS = ("score", "raw")


def read_raw_scores(path, n_items: int) -> np.ndarray:
    """Per-candidate raw scores from a .csv/.xlsx with a ``score`` (or ``raw``) column; out-of-range scores by
    row."""
    column = _score_column(Path(path))
    frame = read_numeric_table(path, [column])
    bad = np.nonzero((frame[column] < 0) | (frame[column] > n_items))[0]
    if bad.size:
        raise InputError([Problem(f"score {frame[column][i]:g} is outside 0–{n_items}", str(path), int(i) + 2,
                                  column) for i in bad])
    return frame[column].to_numpy()


def _score_column(path: Path) -> str:
    """The first of SCORE_COLUMNS the file has (case-insensitive); 'score' when it has none, so the reader
    reports the missing column."""
    try:
        header = _read_table(path).columns
    except InputError:
        return SCORE_COLUMNS[0]  # let the reader report the unreadable file in its own words
    names = {str(c).strip().lower() for c in header}
    return next((c for c in SCORE_COLUMNS if c in names), SCORE_COLUMNS[0])


def _percent_judgments(path, columns) -> pd.DataFrame:
    frame = read_numeric_table(path, columns)
    problems = [Problem(f"{frame[c][i]:g} is outside 0–100 (judgments are percents)", str(path), int(i) + 2, c)
                for c in columns for i in np.nonzero((frame[c] < 0) | (frame[c] > 100))[0]]
    if problems:
        raise InputError(sorted(problems, key=lambda p: p.row))
    return frame


def hofstee_from_files(scores_path, judgments_path, n_items: int) -> CompromiseResult:
    """Hofstee from a score file and a judgments file (columns k_min, k_max, f_min, f_max; percents)."""
    scores = read_raw_scores(scores_path, n_items)
    j = _percent_judgments(judgments_path, ["k_min", "k_max", "f_min", "f_max"])
    return hofstee(scores, n_items, j["k_min"], j["k_max"], j["f_min"], j["f_max"])


def beuk_from_files(scores_path, judgments_path, n_items: int) -> CompromiseResult:
    """Beuk from a score file and a judgments file (columns cut, pass_rate; percents)."""
    scores = read_raw_scores(scores_path, n_items)
    j = _percent_judgments(judgments_path, ["cut", "pass_rate"])
    return beuk(scores, n_items, j["cut"], j["pass_rate"])


def read_scores_and_groups(path, n_items: int, group_column: str | None = "language"):
    """Raw scores (column ``score``) and, if the file has it, the ``group_column`` labels (else None)."""
    scores = read_raw_scores(path, n_items)
    groups = None
    if group_column:
        frame = _read_table(Path(path))
        frame.columns = [str(c).strip().lower() for c in frame.columns]
        if group_column.lower() in frame.columns:
            groups = frame[group_column.lower()].astype(str).str.strip().to_numpy()
    return scores, groups


def impact_from_file(path, n_items: int, cut_raw: float, se: float = 0.0,
                     group_column: str | None = "language") -> pd.DataFrame:
    """``impact`` for a score file (column ``score`` and, if present, ``group_column``, e.g. language)."""
    scores, groups = read_scores_and_groups(path, n_items, group_column)
    return impact(scores, cut_raw, se, groups)
