"""Preknowledge: candidates far better on an exposed item set than on the rest, items easier than before, and
retakers who gained more than a second sitting explains.

- Differential person functioning (Sinharay 2017, "Detection of item preknowledge using likelihood ratio
  test and score test", J. Educ. Behav. Stat. 42, eqs. 4–6): with S the exposed items and R the rest,
      LR = 2 [max_θ log L_S(θ) + max_θ log L_R(θ) − max_θ log L_{S∪R}(θ)],
  signed  z = sign(θ̂_S − θ̂_R) √LR,  asymptotically N(0, 1) when the candidate has one θ on both sets;
  p = 1 − Φ(z) (only doing better on S is suspicious). The maxima are taken on a grid of θ (step
  ``GRID_STEP`` on ``GRID_BOUNDS``), so a perfect score on S is held at the bound and the test stays finite.
- Item drift since earlier administrations: the logit of an item's proportion correct now against its
  latest earlier value from the bank's statistics history, less the median change over the form's items (a
  change in the population moves every item), z = (d_j − median d) / √(1/(n₁p₁q₁) + 1/(n₂p₂q₂)) (the
  delta-method SE of a log odds ratio; Agresti 2013, sec. 3.1.4); one-sided (easier now), Bonferroni over items.
- Retakers (candidates who sat more than once): for a candidate's latest earlier attempt (θ̂₁, SE₁) and this
  one (θ̂₂, SE₂) on the bank scale,

      z = (θ̂₂ − θ̂₁ − g) / √(SE₁² + SE₂²),

  where g is the typical retest gain: the median gain of all retakers in the data (Hausknecht et al. 2007
  find real but moderate practice gains), or a given value. Under "same ability plus the typical gain" z is
  approximately N(0, 1) (the SEs are the θ estimates' standard errors); p = 1 − Φ(z), flagged below α.
  Two attempts on the same form are flagged whatever the gain (the items were seen before), and so is a
  candidate with more than ``max_attempts`` attempts.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.stats import norm

from psychometrics.irt.models import D_LOGISTIC, probability

GRID_BOUNDS = (-5.0, 5.0)
GRID_STEP = 0.01
_P_FLOOR = 1e-10

#: The programme's rule: up to three sittings in twelve months.
MAX_ATTEMPTS = 3
#: Fewer retakers than this: the typical gain is taken as 0 (a median of a handful would absorb a cheat).
MIN_FOR_TYPICAL = 10


@dataclass(frozen=True)
class PreknowledgeResult:
    """Per candidate: θ̂ on the exposed set and on the rest, scores on each, the signed LR z and p."""

    frame: pd.DataFrame
    n_exposed: int
    alpha: float

    @property
    def n_flagged(self) -> int:
        return int(self.frame["flagged"].sum())

    def to_frame(self) -> pd.DataFrame:
        return self.frame


def _grid_loglik(x, a, b, c, D, grid):
    """log L on the grid for every person: (n, G) = Y log P + M log Q as two matrix products."""
    m = ~np.isnan(x)
    y = np.where(m, x, 0.0)
    p = np.clip(probability(grid, a, b, c, D), _P_FLOOR, 1 - _P_FLOOR)     # (G, J)
    return y @ np.log(p).T + (m & (y == 0)).astype(float) @ np.log(1 - p).T


def differential_person_functioning(x, exposed, a, b, c=None, *, D: float = D_LOGISTIC, person_ids=None,
                                    alpha: float = 0.001) -> PreknowledgeResult:
    """Sinharay's signed likelihood-ratio statistic of every candidate for the ``exposed`` items (a boolean
    mask or positions over the columns of x) against the rest (module docstring)."""
    x = np.asarray(x, float)
    a, b = np.asarray(a, float), np.asarray(b, float)
    c = np.zeros_like(b) if c is None else np.asarray(c, float)
    mask = np.zeros(x.shape[1], bool)
    mask[np.asarray(exposed)] = True
    grid = np.arange(GRID_BOUNDS[0], GRID_BOUNDS[1] + GRID_STEP / 2, GRID_STEP)
    ls = _grid_loglik(x[:, mask], a[mask], b[mask], c[mask], D, grid)
    lr_ = _grid_loglik(x[:, ~mask], a[~mask], b[~mask], c[~mask], D, grid)
    lr = 2 * (ls.max(axis=1) + lr_.max(axis=1) - (ls + lr_).max(axis=1))
    theta_s, theta_r = grid[ls.argmax(axis=1)], grid[lr_.argmax(axis=1)]
    z = np.sign(theta_s - theta_r) * np.sqrt(np.maximum(lr, 0.0))
    p = norm.sf(z)
    ids = np.arange(1, x.shape[0] + 1).astype(str) if person_ids is None else np.asarray(person_ids)
    frame = pd.DataFrame({"candidate_id": ids, "score_exposed": np.nansum(x[:, mask], axis=1),
                          "n_exposed": (~np.isnan(x[:, mask])).sum(axis=1),
                          "score_rest": np.nansum(x[:, ~mask], axis=1),
                          "n_rest": (~np.isnan(x[:, ~mask])).sum(axis=1),
                          "theta_exposed": theta_s, "theta_rest": theta_r, "z": z, "p_value": p,
                          "flagged": p < alpha})
    frame = frame.sort_values("z", ascending=False, kind="stable").reset_index(drop=True)
    return PreknowledgeResult(frame, int(mask.sum()), alpha)


def item_drift(current: pd.DataFrame, history: pd.DataFrame, *, alpha: float = 0.001) -> pd.DataFrame:
    """Items easier now than in their latest earlier administration, beyond sampling error (module docstring).

    current: item_id, n, p_value of this administration; history: item_id, n, p_value (and optionally
    administration_id, oldest first), as the bank's statistics table. Items without history are left out."""
    columns = ["item_id", "p_before", "n_before", "administration_before", "p_now", "n_now", "logit_change",
               "z", "p_value", "flagged"]
    hist = history.dropna(subset=["p_value", "n"])
    hist = hist[(hist["n"] > 0)].groupby("item_id", sort=False).tail(1).set_index("item_id")
    cur = current.dropna(subset=["p_value", "n"]).set_index("item_id")
    common = [i for i in cur.index if i in hist.index]
    if not common:
        return pd.DataFrame(columns=columns)
    n1, p1 = hist.loc[common, "n"].to_numpy(float), hist.loc[common, "p_value"].to_numpy(float)
    n2, p2 = cur.loc[common, "n"].to_numpy(float), cur.loc[common, "p_value"].to_numpy(float)
    # half a response keeps a p of 0 or 1 finite (the empirical logit; Cox 1970)
    p1s, p2s = (p1 * n1 + 0.5) / (n1 + 1), (p2 * n2 + 0.5) / (n2 + 1)
    d = np.log(p2s / (1 - p2s)) - np.log(p1s / (1 - p1s))
    se = np.sqrt(1 / (n1 * p1s * (1 - p1s)) + 1 / (n2 * p2s * (1 - p2s)))
    z = (d - np.median(d)) / se
    p = norm.sf(z)
    before = hist.loc[common, "administration_id"].to_numpy() if "administration_id" in hist else [None] * len(common)
    frame = pd.DataFrame({"item_id": common, "p_before": p1, "n_before": n1.astype(int),
                          "administration_before": before, "p_now": p2, "n_now": n2.astype(int),
                          "logit_change": d, "z": z, "p_value": p,
                          "flagged": np.minimum(p * len(common), 1.0) <= alpha})
    return frame.sort_values("z", ascending=False, kind="stable").reset_index(drop=True)[columns]


@dataclass(frozen=True)
class RetakeResult:
    frame: pd.DataFrame
    typical_gain: float
    alpha: float

    @property
    def n_flagged(self) -> int:
        return int(self.frame["flagged"].sum()) if len(self.frame) else 0

    def to_frame(self) -> pd.DataFrame:
        return self.frame


def retake_gains(current: pd.DataFrame, earlier: pd.DataFrame, *, alpha: float = 0.001,
                 typical_gain: float | None = None, max_attempts: int = MAX_ATTEMPTS) -> RetakeResult:
    """current and earlier: candidate_id, form_id, theta, se (earlier: one row per earlier attempt, oldest
    first, optionally with an ``attempt_label``). One row per candidate found in both (module docstring)."""
    columns = ["candidate_id", "attempts", "form_before", "form_now", "theta_before", "theta_now", "gain",
               "se_gain", "z", "p_value", "same_form", "too_many_attempts", "flagged", "reason"]
    cur = current.drop_duplicates("candidate_id", keep="last").set_index("candidate_id")
    earlier = earlier[earlier["candidate_id"].isin(cur.index)]
    if earlier.empty:
        return RetakeResult(pd.DataFrame(columns=columns), 0.0 if typical_gain is None else typical_gain, alpha)
    attempts = earlier.groupby("candidate_id", sort=False).size() + 1
    forms_seen = earlier.groupby("candidate_id", sort=False)["form_id"].agg(set)
    last = earlier.groupby("candidate_id", sort=False).tail(1).set_index("candidate_id")
    ids = list(last.index)
    now = cur.loc[ids]
    gain = now["theta"].to_numpy(float) - last["theta"].to_numpy(float)
    se = np.sqrt(now["se"].to_numpy(float) ** 2 + last["se"].to_numpy(float) ** 2)
    if typical_gain is None:
        typical_gain = float(np.nanmedian(gain)) if len(gain) >= MIN_FOR_TYPICAL else 0.0
    z = (gain - typical_gain) / se
    p = norm.sf(z)
    same = np.array([now.at[i, "form_id"] in forms_seen[i] for i in ids], bool)
    many = attempts.loc[ids].to_numpy() > max_attempts
    big = p < alpha
    reasons = []
    for b, s, mny in zip(big, same, many):
        why = []
        if b:
            why.append("gain beyond measurement error and the typical retest gain")
        if s:
            why.append("the same form taken twice")
        if mny:
            why.append(f"more than {max_attempts} attempts")
        reasons.append("; ".join(why))
    frame = pd.DataFrame({"candidate_id": ids, "attempts": attempts.loc[ids].to_numpy(),
                          "form_before": last["form_id"].to_numpy(), "form_now": now["form_id"].to_numpy(),
                          "theta_before": last["theta"].to_numpy(float), "theta_now": now["theta"].to_numpy(float),
                          "gain": gain, "se_gain": se, "z": z, "p_value": p, "same_form": same,
                          "too_many_attempts": many, "flagged": big | same | many, "reason": reasons})
    frame = frame.sort_values("z", ascending=False, kind="stable").reset_index(drop=True)[columns]
    return RetakeResult(frame, typical_gain, alpha)
