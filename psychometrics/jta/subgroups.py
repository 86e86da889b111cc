"""Do respondent subgroups (language, setting, experience) see the job the same way?

For each background variable, each group is compared with everyone else who answered that variable (one
group against the rest), competency by competency, on the per-respondent criticality I × F and on
importance. The effect size is Hedges' g:

    d = (m₁ − m₂) / s_p,  s_p² = [(n₁ − 1)s₁² + (n₂ − 1)s₂²] / (n₁ + n₂ − 2),
    g = J · d,  J = 1 − 3 / (4(n₁ + n₂) − 9)

(Hedges 1981, eq. 6e; Hedges & Olkin 1985, ch. 5, eqs. 3 and 10). |g| ≥ 0.5 is flagged, Cohen's (1988,
§2.2.3) "medium" difference. A group needs at least ``min_size`` respondents for a comparison; with fewer its
mean is too unstable to discuss (the application refuses such a group, naming it).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from certbank_core.errors import EstimationError

#: |g| at or above which a difference is flagged for the board (Cohen 1988: 0.5 is "medium").
FLAG_G = 0.5


def hedges_g(group, rest) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Column-wise Hedges' g of ``group`` against ``rest`` (respondents × statements, NaN = not rated).

    Returns (g, n₁, n₂); g is NaN where either side has fewer than 2 ratings or no spread."""
    a = np.asarray(group, dtype=float)
    b = np.asarray(rest, dtype=float)
    n1 = (~np.isnan(a)).sum(axis=0)
    n2 = (~np.isnan(b)).sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        m1 = np.nansum(a, axis=0) / n1
        m2 = np.nansum(b, axis=0) / n2
        ss1 = np.nansum((a - m1) ** 2, axis=0)
        ss2 = np.nansum((b - m2) ** 2, axis=0)
        sp = np.sqrt((ss1 + ss2) / (n1 + n2 - 2))
        d = (m1 - m2) / sp
        j = 1.0 - 3.0 / (4.0 * (n1 + n2) - 9.0)
        g = np.where((n1 >= 2) & (n2 >= 2) & (sp > 0), j * d, np.nan)
    return g, n1, n2


@dataclass(frozen=True)
class SubgroupComparison:
    """One row per (variable, group, rating, competency): group and rest means, sizes, g, flag."""

    frame: pd.DataFrame
    min_size: int

    def flagged(self) -> pd.DataFrame:
        return self.frame[self.frame["flagged"]]

    def to_frame(self) -> pd.DataFrame:
        return self.frame.copy()


COLUMNS = ["variable", "group", "rating", "competency", "n_group", "n_rest", "mean_group", "mean_rest",
           "hedges_g", "flagged"]


def compare_subgroups(ratings: dict[str, np.ndarray], codes, variables: dict[str, np.ndarray],
                      min_size: int = 30) -> SubgroupComparison:
    """Compare every group of every background variable with the rest.

    ``ratings``: rating name → respondents × competencies array (NaN = not rated), e.g. {"criticality": I*F,
    "importance": I}; ``variables``: variable name → one label per respondent (None/'' = not answered)."""
    parts = []
    for variable, labels in variables.items():
        labels = np.array(["" if v is None else str(v) for v in labels], dtype=object)
        answered = labels != ""
        groups = sorted(set(labels[answered]))
        if len(groups) < 2:
            continue
        for group in groups:
            size = int((labels == group).sum())
            if size < min_size:
                raise EstimationError(f"The group {group!r} of {variable!r} has {size} respondents, "
                                      f"fewer than the {min_size} a comparison needs.")
        for group in groups:
            inside = labels == group
            outside = answered & ~inside
            for rating, values in ratings.items():
                x = np.asarray(values, dtype=float)
                g, n1, n2 = hedges_g(x[inside], x[outside])
                with np.errstate(invalid="ignore", divide="ignore"):
                    m1 = np.nansum(x[inside], axis=0) / n1
                    m2 = np.nansum(x[outside], axis=0) / n2
                parts.append(pd.DataFrame({
                    "variable": variable, "group": group, "rating": rating, "competency": list(codes),
                    "n_group": n1, "n_rest": n2, "mean_group": m1, "mean_rest": m2, "hedges_g": g,
                    "flagged": np.abs(np.nan_to_num(g)) >= FLAG_G}))
            if len(groups) == 2:
                break  # with two groups the second comparison is the first with the sign reversed
    frame = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=COLUMNS)
    return SubgroupComparison(frame[COLUMNS], min_size)
