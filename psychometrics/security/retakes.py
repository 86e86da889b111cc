"""Retakers: candidates who sat more than once, gains beyond measurement error and the typical retest gain.

For a candidate's latest earlier attempt (θ̂₁, SE₁) and this one (θ̂₂, SE₂) on the bank scale,

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

#: The programme's rule: up to three sittings in twelve months.
MAX_ATTEMPTS = 3
#: Fewer retakers than this: the typical gain is taken as 0 (a median of a handful would absorb a cheat).
MIN_FOR_TYPICAL = 10


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
