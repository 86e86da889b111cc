"""A pass/fail cut carried through an equating function, and the comparison of methods with the IRT cut.

An equating function e_Y(x) maps new-form (X) raw scores to the old form's (Y) raw-score scale (Kolen &
Brennan 2014, *Test Equating, Scaling, and Linking*, 3rd ed., ch. 4–5 for the NEAT methods). A candidate who
scores x on X is reported on Y's scale as the rounded equated score (K&B §9: equated raw scores are rounded to
integers before a decision is made on them), so the old form's raw cut c carries to X as

    x_c = the smallest integer x in 0..K_X with round(e_Y(x)) ≥ c, i.e. e_Y(x) ≥ c − ½   (rule "rounded")

or, with rule "exact", the smallest x with e_Y(x) ≥ c (the unrounded equated score reaches c). With the
"rounded" rule an integer old score c stands for the interval [c − ½, c + ½) of the continuized distribution
(K&B eq. 2.14), which is the convention of the equipercentile methods.

The IRT result it is compared with is the new form's raw cut from the θ standard, ⌈TCC_X(θ_c)⌉
(``psychometrics.irt.equating.raw_cut_from_theta``; K&B §6.4): both answer "which new-form raw score is as hard
to reach as the old form's cut", one through the anchor's observed scores, one through the bank-scale item
parameters. When they disagree by more than a point, either the anchor (drift, too few items, an anchor that
does not represent the test) or the IRT linking deserves a look before the board chooses a cut.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping

import numpy as np
import pandas as pd

from certbank_core.errors import InputError
from psychometrics.equating.classical import EquatingResult

#: How equated scores are compared with the old form's raw cut (see the module docstring).
CUT_RULES = ("rounded", "exact")

#: Differences from the IRT cut (raw points) up to which the methods are said to agree.
AGREEMENT_POINTS = 1


def cut_through_equating(result: EquatingResult, old_cut: float, rule: str = "rounded") -> int:
    """The new-form raw cut: the smallest integer x of ``result.scores`` whose equated score reaches
    ``old_cut`` (rule "rounded": e_Y(x) ≥ old_cut − ½; "exact": e_Y(x) ≥ old_cut). Equating functions are
    non-decreasing, but the first such x is taken anyway. When no new-form score reaches it, the cut is
    K_X + 1 (nobody can pass), which callers show as such."""
    if rule not in CUT_RULES:
        raise InputError(f"unknown cut rule {rule!r}; use one of {', '.join(CUT_RULES)}")
    target = float(old_cut) - (0.5 if rule == "rounded" else 0.0)
    scores = np.asarray(result.scores, dtype=float)
    reached = np.nonzero(np.asarray(result.equated, dtype=float) >= target - 1e-9)[0]
    return int(scores[reached[0]]) if reached.size else int(scores.max()) + 1


@dataclass(frozen=True)
class CutComparison:
    """The old form's raw cut carried to the new form by several equating methods, beside the IRT raw cut.

    ``table``: one row per method — method, new_raw_cut, equated_at_cut (e_Y at that cut, NaN when no score
    reaches it), difference_from_irt (new_raw_cut − irt_raw_cut); the last row is the IRT result itself.
    """

    old_raw_cut: int
    irt_raw_cut: int
    rule: str
    table: pd.DataFrame

    @property
    def max_difference(self) -> int:
        return int(self.table["difference_from_irt"].abs().max())

    def sentence(self) -> str:
        """One sentence for the board: do the methods agree with the IRT cut?"""
        rows = self.table[self.table["method"] != "irt"]
        if rows.empty:
            return "No observed-score method was run."
        worst = rows.loc[rows["difference_from_irt"].abs().idxmax()]
        d = int(abs(worst["difference_from_irt"]))
        if d <= AGREEMENT_POINTS:
            return (f"The methods agree within {AGREEMENT_POINTS} raw point: the observed-score cuts are "
                    f"{_span(rows['new_raw_cut'])} and the IRT cut is {self.irt_raw_cut}.")
        return (f"{_label(worst['method'])} and IRT differ by {d} raw points ({int(worst['new_raw_cut'])} vs "
                f"{self.irt_raw_cut}): look at the anchor items (drift, too few of them, a content mix unlike "
                f"the test's) and at how the new form's parameters were linked to the bank scale before "
                f"choosing the cut.")


def _span(values) -> str:
    lo, hi = int(min(values)), int(max(values))
    return f"{lo}" if lo == hi else f"{lo}–{hi}"


_LABELS = {"tucker": "Tucker", "levine_observed": "Levine (observed score)", "levine_true": "Levine (true score)",
           "chained_linear": "Chained linear", "chained_equipercentile": "Chained equipercentile",
           "frequency_estimation": "Frequency estimation", "braun_holland": "Braun–Holland", "irt": "IRT",
           "equipercentile": "Random-groups equipercentile", "linear": "Random-groups linear"}


def _label(method: str) -> str:
    return _LABELS.get(method, method)


def compare_cuts(results: Mapping[str, EquatingResult], old_raw_cut: int, irt_raw_cut: int,
                 rule: str = "rounded", irt_equated_at_cut: float = float("nan")) -> CutComparison:
    """Carry ``old_raw_cut`` through each equating result (``cut_through_equating``) and set each new-form
    cut beside ``irt_raw_cut`` (⌈TCC_X(θ_c)⌉ of the new form); ``irt_equated_at_cut`` is what the IRT
    true-score equating gives that cut on the old form's scale (shown in the IRT row)."""
    rows = []
    for name, result in results.items():
        cut = cut_through_equating(result, old_raw_cut, rule)
        at = float(np.interp(cut, result.scores, result.equated)) if cut <= result.scores.max() else np.nan
        rows.append({"method": name, "new_raw_cut": cut, "equated_at_cut": at,
                     "difference_from_irt": cut - int(irt_raw_cut)})
    rows.append({"method": "irt", "new_raw_cut": int(irt_raw_cut), "equated_at_cut": float(irt_equated_at_cut),
                 "difference_from_irt": 0})
    table = pd.DataFrame(rows, columns=["method", "new_raw_cut", "equated_at_cut", "difference_from_irt"])
    return CutComparison(int(old_raw_cut), int(irt_raw_cut), rule, table)
