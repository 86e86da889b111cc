"""From competency criticality to content-area weights and item counts that sum to the test length.

* Area weight w_a = Σ_{j in a, included} C_j / Σ_{j included} C_j: each area's share of the total
  criticality of the competencies the inclusion rule keeps (Raymond & Neustel 2006, "Determining the content
  of credentialing examinations", the "sum the task ratings within each content domain" method; Raymond 2001).
  An area whose competencies are all excluded weighs 0 and gets only its minimum.
* Item counts: each area's quota is q_a = clip(λ·w_a, min_a, max_a) with λ chosen so that Σ q_a = length
  (proportional to the weight, but never below the program's minimum nor above what the bank can supply);
  the quotas are then rounded by the largest-remainder (Hamilton) method: every area gets ⌊q_a⌋ and the
  seats still free go one each to the largest fractional parts (Balinski & Young 1982, "Fair
  Representation", ch. 2 and Appendix A). Ties go to the larger weight, then to the area listed first.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from certbank_core.errors import EstimationError


def area_weights(criticality, competency_areas, included, area_codes) -> np.ndarray:
    """w_a for each of ``area_codes``: the included competencies' criticality summed by area, over the total."""
    crit = np.where(np.asarray(included, dtype=bool), np.nan_to_num(np.asarray(criticality, dtype=float)), 0.0)
    where = {code: i for i, code in enumerate(area_codes)}
    index = np.array([where[a] for a in competency_areas], dtype=int)
    sums = np.bincount(index, weights=crit, minlength=len(area_codes))
    total = sums.sum()
    if total <= 0:
        raise EstimationError("No competency meets the inclusion rule, so no content weights can be set.")
    return sums / total


def bounded_quotas(weights, length: int, minimum, maximum) -> np.ndarray:
    """q_a = clip(λ w_a, min_a, max_a) summing to ``length`` (λ by bisection; Σ q is monotone in λ)."""
    w = np.asarray(weights, dtype=float)
    lo_b = np.broadcast_to(np.asarray(minimum, dtype=float), w.shape)
    hi_b = np.broadcast_to(np.asarray(maximum, dtype=float), w.shape)
    if lo_b.sum() > length:
        raise EstimationError(f"The per-area minimums add up to {lo_b.sum():.0f} items, more than the test "
                              f"length {length}.")
    if hi_b.sum() < length:
        raise EstimationError(f"The per-area maximums add up to {hi_b.sum():.0f} items, fewer than the test "
                              f"length {length}.")

    def total(lam: float) -> float:
        return float(np.clip(lam * w, lo_b, hi_b).sum())

    lo, hi = 0.0, 1.0
    while total(hi) < length and hi < 1e12:
        hi *= 2.0
    for _ in range(200):
        mid = 0.5 * (lo + hi)
        lo, hi = (mid, hi) if total(mid) < length else (lo, mid)
    q = np.clip(hi * w, lo_b, hi_b)
    if not np.isclose(q.sum(), length):
        raise EstimationError(f"The areas can hold at most {q.sum():.0f} items within their limits (areas of "
                              f"weight 0 stay at their minimum), fewer than the test length {length}.")
    return q


def largest_remainder(quotas, length: int, weights=None, maximum=None) -> np.ndarray:
    """Hamilton rounding of quotas that sum to ``length``: floors, then one seat each to the largest
    fractional parts (ties: larger weight, then earlier area), never above ``maximum``."""
    q = np.asarray(quotas, dtype=float)
    floors = np.floor(q + 1e-9).astype(int)
    seats = int(length - floors.sum())
    frac = np.where(q - floors > 1e-9, q - floors, 0.0)
    w = np.zeros_like(q) if weights is None else np.asarray(weights, dtype=float)
    cap = np.full(q.shape, np.inf) if maximum is None else np.broadcast_to(np.asarray(maximum, float), q.shape)
    order = sorted(range(q.size), key=lambda i: (-frac[i], -w[i], i))
    counts = floors.copy()
    for i in order:
        if seats <= 0:
            break
        if counts[i] + 1 <= cap[i]:
            counts[i] += 1
            seats -= 1
    return counts


@dataclass(frozen=True)
class AreaAllocation:
    """Weights, quotas and item counts of every content area (blueprint order)."""

    areas: tuple[str, ...]
    weights: np.ndarray
    unbounded_quota: np.ndarray  # length × w_a, before minimums and caps
    quota: np.ndarray
    counts: np.ndarray
    minimum: np.ndarray
    maximum: np.ndarray
    length: int

    @property
    def capped(self) -> tuple[str, ...]:
        """Areas whose share of the length is more than the cap allows (a bank-growth finding)."""
        return tuple(a for a, u, m in zip(self.areas, self.unbounded_quota, self.maximum) if u > m + 1e-9)

    @property
    def raised(self) -> tuple[str, ...]:
        """Areas raised to the minimum count."""
        return tuple(a for a, u, m in zip(self.areas, self.unbounded_quota, self.minimum) if u < m - 1e-9)

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame({"area": self.areas, "weight": self.weights, "share_of_length": self.unbounded_quota,
                             "quota": self.quota, "count": self.counts, "minimum": self.minimum,
                             "maximum": self.maximum})


def allocate_items(weights, area_codes, length: int, minimum=0, maximum=None) -> AreaAllocation:
    """Item counts per area: bounded proportional quotas rounded by largest remainder (module docstring)."""
    w = np.asarray(weights, dtype=float)
    lo = np.broadcast_to(np.asarray(minimum, dtype=float), w.shape).copy()
    hi = np.broadcast_to(np.asarray(length if maximum is None else maximum, dtype=float), w.shape).copy()
    quota = bounded_quotas(w, length, lo, hi)
    counts = largest_remainder(quota, length, w, hi)
    return AreaAllocation(tuple(area_codes), w, length * w, quota, counts, lo, hi, int(length))
