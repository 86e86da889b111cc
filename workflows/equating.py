"""`certbank equate`: score-distribution and NEAT files read, checked and equated, classical or IRT.

The numbers are ``psychometrics.equating`` (random groups and NEAT, Kolen & Brennan 2014 conventions) and
``psychometrics.irt.equating``; this module reads the files, chooses the method and writes the table.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from certbank_core.errors import InputError
from psychometrics import equating
from psychometrics.equating.classical import NEAT_METHODS, RANDOM_GROUPS_METHODS, EquatingResult, NeatData, frequencies
from psychometrics.irt import equating as irt_equating
from workflows.outputs import write_csv
from workflows.parameter_files import form_parameters
from workflows.tables import read_numeric_table


def read_score_distribution(path, max_score: int) -> np.ndarray:
    """Frequencies (max_score + 1,) from a file of per-person scores (column ``score``) or a frequency table
    (columns ``score``, ``count``). Scores outside 0..max_score are reported with their rows."""
    from certbank_core.errors import Problem

    probe = read_numeric_table(path, ["score"], ["count"], integer=True)
    bad = np.nonzero((probe["score"] < 0) | (probe["score"] > max_score))[0]
    if bad.size:
        raise InputError([Problem(f"score {probe['score'][i]:g} is outside 0–{max_score}", str(path), int(i) + 2,
                                  "score") for i in bad])
    if "count" in probe:
        freq = np.zeros(max_score + 1)
        np.add.at(freq, probe["score"].astype(int).to_numpy(), probe["count"].to_numpy())
        return freq
    return frequencies(probe["score"].to_numpy(), max_score)


def read_neat_scores(path, max_total: int, max_anchor: int, internal: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """Per-person ``total`` and ``anchor`` scores of one NEAT population, with range problems by row."""
    from certbank_core.errors import Problem

    frame = read_numeric_table(path, ["total", "anchor"], integer=True)
    problems = []
    for col, top in (("total", max_total), ("anchor", max_anchor)):
        for i in np.nonzero((frame[col] < 0) | (frame[col] > top))[0]:
            problems.append(Problem(f"{frame[col][i]:g} is outside 0–{top}", str(path), int(i) + 2, col))
    for i in np.nonzero((frame["anchor"] > frame["total"]) & internal)[0]:
        problems.append(Problem("anchor score exceeds the total score of an internal anchor", str(path),
                                int(i) + 2, "anchor"))
    if problems:
        raise InputError(problems)
    return frame["total"].to_numpy(), frame["anchor"].to_numpy()


def equate_files(method: str, x_path, y_path, max_x: int, max_y: int, max_anchor: int | None = None,
                 w1: float = 0.5, internal: bool = True) -> EquatingResult:
    """Classical equating from files: random-groups methods read score distributions, NEAT methods read
    per-person total and anchor scores (``NEAT_METHODS``; they need ``max_anchor``)."""
    if not 0.0 <= w1 <= 1.0:
        raise InputError(f"w1 = {w1} must be between 0 and 1")
    if method in RANDOM_GROUPS_METHODS:
        return RANDOM_GROUPS_METHODS[method](read_score_distribution(x_path, max_x),
                                             read_score_distribution(y_path, max_y))
    if method in NEAT_METHODS:
        if max_anchor is None:
            raise InputError(f"method {method} needs the anchor's maximum score")
        xt, xv = read_neat_scores(x_path, max_x, max_anchor, internal)
        yt, yv = read_neat_scores(y_path, max_y, max_anchor, internal)
        data = NeatData.from_scores(xt, xv, yt, yv, max_x, max_y, max_anchor, internal=internal)
        return NEAT_METHODS[method](data, w1)
    known = ", ".join(list(RANDOM_GROUPS_METHODS) + list(NEAT_METHODS) + ["irt_true_score", "irt_observed_score"])
    raise InputError(f"unknown equating method {method!r}; choose one of {known}")


#: The IRT equating methods; every other method name goes to ``equate_files``.
IRT_EQUATING_METHODS = ("irt_true_score", "irt_observed_score")


# ---- equating --------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class EquatingJob:
    result: equating.EquatingResult
    frame: pd.DataFrame = field(repr=False)

    def write(self, out) -> list[Path]:
        return [write_csv(out, self.frame)]

    def message(self, out) -> str:
        r = self.result
        line = f" (slope {r.slope:.4f}, intercept {r.intercept:.4f})" if r.slope is not None else ""
        return f"{r.method} equating of {len(self.frame)} scores{line}. Wrote {out}."


def equate(bank, method: str, *, x_path=None, y_path=None, max_x: int | None = None, max_y: int | None = None,
           max_anchor: int | None = None, internal_anchor: bool = True, w1: float = 0.5,
           form_x: str | None = None, form_y: str | None = None, params_x=None, params_y=None) -> EquatingJob:
    """Equate form X to form Y's scale. IRT methods (``IRT_EQUATING_METHODS``) take each form's parameters
    from the bank (form_x/form_y) or files (params_x/params_y); the classical methods read score files
    (``equate_files``: random groups or NEAT, K&B 2014 conventions)."""
    if method in IRT_EQUATING_METHODS:
        px, _ = form_parameters(bank, form_x, params_x)
        py, _ = form_parameters(bank, form_y, params_y)
        result = irt_equating.irt_true_score_equating(px, py) if method == "irt_true_score" else \
            irt_equating.irt_observed_score_equating(px, py, w1)
    else:
        missing = [name for name, v in (("--x", x_path), ("--y", y_path), ("--max-x", max_x), ("--max-y", max_y))
                   if v is None]
        if missing:
            raise InputError(f"Method {method} needs {', '.join(missing)}.")
        result = equate_files(method, x_path, y_path, max_x, max_y, max_anchor, w1, internal=internal_anchor)
    return EquatingJob(result, result.to_frame())

