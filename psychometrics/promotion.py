"""Which pretest items are ready to count: the bank's criteria applied to one administration's results.

A pretest item moves to operational when its pretest shows it measures what the form measures and can be
placed on the bank scale (Schmeiser & Welch 2006, "Test development", in *Educational Measurement*, 4th ed.;
Haladyna & Rodriguez 2013, ch. 17, on item analysis before operational use):

* enough candidates answered it for the statistics to be stable (``min_n``; Iteman's guidance is 200+);
* difficulty within ``p_range`` — neither so hard nor so easy that it tells candidates apart little;
* corrected (item–rest) point-biserial at least ``min_point_biserial``;
* bank-scale IRT parameters within the ranges the IRT flags use (slope ``a_range``, ``|b| ≤ max_abs_b``,
  ``c ≤ max_c``) and no misfit flag;
* no ETS class C DIF between language groups (Zwick 2012, *A review of ETS differential item functioning
  assessment procedures*) — when DIF results are given; otherwise the review says DIF was not checked.

Frames in, a frozen review out; which items the bank then promotes is the application's business.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd


@dataclass(frozen=True)
class PromotionCriteria:
    """The thresholds of a pretest review (defaults: the values in the module docstring)."""

    min_n: int = 200
    p_range: tuple[float, float] = (0.20, 0.95)
    min_point_biserial: float = 0.15
    a_range: tuple[float, float] = (0.30, 4.0)
    max_abs_b: float = 3.0
    max_c: float = 0.35
    blocking_dif: tuple[str, ...] = ("C", "C-", "C+")


DEFAULT_CRITERIA = PromotionCriteria()


@dataclass(frozen=True)
class PromotionReview:
    """One row per pretest item: its statistics, ``ready`` and the ``reasons`` it is not (plain words)."""

    frame: pd.DataFrame = field(repr=False)
    criteria: PromotionCriteria
    dif_checked: bool

    @property
    def ready_ids(self) -> tuple[str, ...]:
        return tuple(self.frame.loc[self.frame["ready"], "item_id"])

    def to_frame(self) -> pd.DataFrame:
        return self.frame.copy()


def _num(frame: pd.DataFrame, column: str) -> np.ndarray:
    return pd.to_numeric(frame[column], errors="coerce").to_numpy(float) if column in frame else \
        np.full(len(frame), np.nan)


def review_pretest_items(item_ids, statistics: pd.DataFrame, parameters: pd.DataFrame,
                         dif: pd.DataFrame | None = None, misfit: set[str] | frozenset = frozenset(),
                         criteria: PromotionCriteria = DEFAULT_CRITERIA) -> PromotionReview:
    """Apply ``criteria`` to each pretest item.

    item_ids: the pretest items reviewed. statistics: one row per item (item_id, n, p_value, point_biserial —
    the corrected, item–rest correlation). parameters: bank-scale IRT parameters (item_id, a, b, c); an item
    missing there is not ready. dif: optional DIF results (item_id, ets_class). misfit: ids with an IRT
    misfit flag. Returns a review whose frame has item_id, n, p_value, point_biserial, a, b, c, ets_class,
    ready, reasons.
    """
    ids = [str(i) for i in item_ids]
    out = pd.DataFrame({"item_id": ids})
    stats = statistics.drop_duplicates("item_id", keep="last").set_index("item_id").reindex(ids).reset_index()
    params = parameters.drop_duplicates("item_id", keep="last").set_index("item_id").reindex(ids).reset_index()
    n, p, r = _num(stats, "n"), _num(stats, "p_value"), _num(stats, "point_biserial")
    a, b, c = _num(params, "a"), _num(params, "b"), _num(params, "c")
    c = np.where(np.isnan(c), 0.0, c)
    out["n"], out["p_value"], out["point_biserial"], out["a"], out["b"], out["c"] = n, p, r, a, b, c
    ets = pd.Series([""] * len(ids))
    if dif is not None and "ets_class" in dif:
        ets = dif.drop_duplicates("item_id", keep="last").set_index("item_id")["ets_class"].reindex(ids)
        ets = ets.fillna("").astype(str).reset_index(drop=True)
    out["ets_class"] = ets.to_numpy()
    k = criteria
    checks = [
        (np.isnan(n), "no statistics from this administration"),
        (n < k.min_n, f"fewer than {k.min_n} candidates answered it"),
        (p < k.p_range[0], f"too hard (P below {k.p_range[0]:.2f})"),
        (p > k.p_range[1], f"too easy (P above {k.p_range[1]:.2f})"),
        (r < k.min_point_biserial, f"corrected point-biserial below {k.min_point_biserial:.2f}"),
        (np.isnan(a) | np.isnan(b), "no IRT parameters on the bank scale"),
        ((a < k.a_range[0]) | (a > k.a_range[1]), f"slope a outside {k.a_range[0]:g}–{k.a_range[1]:g}"),
        (np.abs(b) > k.max_abs_b, f"|b| above {k.max_abs_b:g}"),
        (c > k.max_c, f"c above {k.max_c:g}"),
        (np.isin(ids, sorted(misfit)), "misfits the IRT model"),
        (np.isin(out["ets_class"].to_numpy(), list(k.blocking_dif)), "ETS class C DIF between language groups"),
    ]
    reasons = [[] for _ in ids]
    for failed, words in checks:
        for i in np.flatnonzero(np.asarray(failed, dtype=bool)):
            reasons[i].append(words)
    out["ready"] = [not rs for rs in reasons]
    out["reasons"] = ["; ".join(rs) for rs in reasons]
    return PromotionReview(out, criteria, dif is not None)
