"""Do the respondents agree? Rater agreement (rwg, rwg(J), intraclass correlations) and subgroup differences.

* ``rwg`` — within-group agreement on one rated statement against a uniform "no agreement" null:
  r_wg = 1 − s² / σ²_EU with σ²_EU = (A² − 1) / 12 for an A-point scale (James, Demaree & Wolf 1984,
  with their rectangular null distribution).
* ``rwg_j`` — the same for J parallel statements (here: the competencies of one content area):
  r_wg(J) = J(1 − s̄²/σ²_EU) / [J(1 − s̄²/σ²_EU) + s̄²/σ²_EU], s̄² the mean of the J observed variances
  (James, Demaree & Wolf 1984). An observed variance above the null's gives a value outside 0–1;
  as LeBreton & Senter (2008) advise, we report 0 there (no agreement).
* ``intraclass`` — Shrout & Fleiss (1979) ICC(1,1), ICC(2,1), ICC(3,1) and their k-rater averages from the
  two-way ANOVA of a complete targets × raters table (the tests reproduce their worked example of six
  targets rated by four judges). In a job analysis the targets are the competencies and the raters the
  respondents: ICC(2,k) says how reliable the panel's mean rating of each competency is.

Subgroup differences (``compare_subgroups``): For each background variable, each group is compared with everyone else who answered that variable (one
group against the rest), competency by competency, on the per-respondent criticality I × F and on
importance. The effect size is Hedges' g:

    d = (m₁ − m₂) / s_p,  s_p² = [(n₁ − 1)s₁² + (n₂ − 1)s₂²] / (n₁ + n₂ − 2),
    g = J · d,  J = 1 − 3 / (4(n₁ + n₂) − 9)

(Hedges 1981; Hedges & Olkin 1985, ch. 5). |g| ≥ 0.5 is flagged, Cohen's (1988)
"medium" difference. A group needs at least ``min_size`` respondents for a comparison; with fewer its
mean is too unstable to discuss (the application refuses such a group, naming it).
"""
from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd

from certbank_core.errors import EstimationError

def null_variance(n_points: int) -> float:
    """σ²_EU of a uniform distribution over ``n_points`` equally spaced categories: (A² − 1) / 12."""
    return (n_points ** 2 - 1) / 12.0


def rwg(variances, n_points: int) -> np.ndarray:
    """r_wg of each statement from its observed variance (ddof = 1), floored at 0; NaN stays NaN."""
    ratio = np.asarray(variances, dtype=float) / null_variance(n_points)
    return np.where(np.isnan(ratio), np.nan, np.clip(1.0 - ratio, 0.0, 1.0))


def rwg_j(variances, n_points: int) -> float:
    """r_wg(J) of J statements from their observed variances (NaN ones left out); 0 when s̄² ≥ σ²_EU."""
    v = np.asarray(variances, dtype=float)
    v = v[~np.isnan(v)]
    if v.size == 0:
        return float("nan")
    ratio = float(v.mean()) / null_variance(n_points)
    if ratio >= 1.0:
        return 0.0
    j = v.size
    return j * (1.0 - ratio) / (j * (1.0 - ratio) + ratio)


@dataclass(frozen=True)
class IntraclassResult:
    """Shrout–Fleiss intraclass correlations of one complete targets × raters table."""

    n_targets: int
    n_raters: int
    bms: float  # between-targets mean square
    wms: float  # within-targets mean square
    jms: float  # between-raters (judges) mean square
    ems: float  # residual mean square
    icc_1_1: float
    icc_1_k: float
    icc_2_1: float
    icc_2_k: float
    icc_3_1: float
    icc_3_k: float

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame([asdict(self)])


def intraclass(table) -> IntraclassResult:
    """ICCs of ``table`` (targets in rows, raters in columns, no missing cells).

    With n targets, k raters, grand mean m, row means r_i and column means c_j:
    BMS = k Σ(r_i − m)² / (n − 1), JMS = n Σ(c_j − m)² / (k − 1), WMS = Σ(x − r_i)² / (n(k − 1)),
    EMS = [Σ(x − m)² − (n − 1)BMS − (k − 1)JMS] / ((n − 1)(k − 1));
    ICC(1,1) = (BMS − WMS)/(BMS + (k−1)WMS), ICC(2,1) = (BMS − EMS)/(BMS + (k−1)EMS + k(JMS − EMS)/n),
    ICC(3,1) = (BMS − EMS)/(BMS + (k−1)EMS), ICC(1,k) = (BMS − WMS)/BMS,
    ICC(2,k) = (BMS − EMS)/(BMS + (JMS − EMS)/n), ICC(3,k) = (BMS − EMS)/BMS (Shrout & Fleiss 1979)."""
    x = np.asarray(table, dtype=float)
    if x.ndim != 2 or x.shape[0] < 2 or x.shape[1] < 2:
        raise EstimationError("An intraclass correlation needs at least 2 targets rated by at least 2 raters.")
    if np.isnan(x).any():
        raise EstimationError("An intraclass correlation needs a complete table (every rater rates every target).")
    n, k = x.shape
    m = x.mean()
    rows, cols = x.mean(axis=1), x.mean(axis=0)
    ss_total = float(((x - m) ** 2).sum())
    ss_between = k * float(((rows - m) ** 2).sum())
    ss_raters = n * float(((cols - m) ** 2).sum())
    ss_within = float(((x - rows[:, None]) ** 2).sum())
    bms, jms = ss_between / (n - 1), ss_raters / (k - 1)
    wms = ss_within / (n * (k - 1))
    ems = (ss_total - ss_between - ss_raters) / ((n - 1) * (k - 1))

    def ratio(num, den):
        return float(num / den) if den != 0 else float("nan")

    return IntraclassResult(
        n_targets=n, n_raters=k, bms=bms, wms=wms, jms=jms, ems=ems,
        icc_1_1=ratio(bms - wms, bms + (k - 1) * wms),
        icc_1_k=ratio(bms - wms, bms),
        icc_2_1=ratio(bms - ems, bms + (k - 1) * ems + k * (jms - ems) / n),
        icc_2_k=ratio(bms - ems, bms + (jms - ems) / n),
        icc_3_1=ratio(bms - ems, bms + (k - 1) * ems),
        icc_3_k=ratio(bms - ems, bms),
    )


# ---- subgroup differences --------------------------------------------------------------------------------

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
