"""Rater agreement for a job-analysis survey: rwg, rwg(J) and the intraclass correlations.

* ``rwg`` — within-group agreement on one rated statement against a uniform "no agreement" null:
  r_wg = 1 − s² / σ²_EU with σ²_EU = (A² − 1) / 12 for an A-point scale (James, Demaree & Wolf 1984,
  eq. 1 and the rectangular null of their §"Estimating σ²_EU").
* ``rwg_j`` — the same for J parallel statements (here: the competencies of one content area):
  r_wg(J) = J(1 − s̄²/σ²_EU) / [J(1 − s̄²/σ²_EU) + s̄²/σ²_EU], s̄² the mean of the J observed variances
  (James, Demaree & Wolf 1984, eq. 4). An observed variance above the null's gives a value outside 0–1;
  like LeBreton & Senter (2008, Q&A 9) we report 0 there (no agreement).
* ``intraclass`` — Shrout & Fleiss (1979) ICC(1,1), ICC(2,1), ICC(3,1) and their k-rater averages from the
  two-way ANOVA of a complete targets × raters table (their Table 1 mean squares; Table 2 is the worked
  example the tests reproduce). In a job analysis the targets are the competencies and the raters the
  respondents: ICC(2,k) says how reliable the panel's mean rating of each competency is.
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
    ICC(2,k) = (BMS − EMS)/(BMS + (JMS − EMS)/n), ICC(3,k) = (BMS − EMS)/BMS (Shrout & Fleiss 1979, Table 1
    and eqs. 2–6)."""
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
