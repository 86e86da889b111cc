"""Scaled scores with a fixed scaled cut, raw → θ → scaled conversion tables, and candidate score reports.

The standard is a θ cut on the bank scale. Each form reaches θ through its TCC: θ(x) = TCC⁻¹(x) for
Σc < x < n (the "true-score" θ of a raw score; Lord 1980 ch. 4; K&B §6.4). Raw scores at or below the chance
score Σc, or at the maximum, have no finite θ and get the ends of the reporting range.

Scale (``ScaleDefinition``):
- linear: S(θ) = S_cut + slope · (θ − θ_cut), clipped to [S_low, S_high];
- piecewise: two lines joined at the cut, (θ_low, S_low)–(θ_cut, S_cut)–(θ_high, S_high).
Scaled scores are rounded to whole numbers, then kept on the right side of the cut: a failing raw score never
reports S_cut or above and a passing one never reports below S_cut (rounding must not change a decision).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from certbank_core.errors import InputError
from psychometrics.irt.equating import ItemParameters, raw_cut_from_theta, theta_for_true_score

DEFAULT_SCALE_LOW = 200.0
DEFAULT_SCALE_HIGH = 800.0
DEFAULT_SCALE_CUT = 500.0
#: Scaled points per logit for the linear scale.
DEFAULT_SLOPE = 100.0
#: θ mapped to the ends of a piecewise scale, and reported for raw scores without a finite θ.
DEFAULT_THETA_RANGE = (-4.0, 4.0)

#: The note each candidate receives with the area breakdown.
AREA_NOTE = ("Pass or fail depends only on the total score. The percentages by competency area show where you "
             "did better or worse; each area has few questions, so small differences are not meaningful.")


@dataclass(frozen=True)
class ScaleDefinition:
    kind: str = "linear"
    low: float = DEFAULT_SCALE_LOW
    high: float = DEFAULT_SCALE_HIGH
    cut: float = DEFAULT_SCALE_CUT
    slope: float = DEFAULT_SLOPE
    theta_low: float = DEFAULT_THETA_RANGE[0]
    theta_high: float = DEFAULT_THETA_RANGE[1]

    def __post_init__(self):
        if self.kind not in ("linear", "piecewise"):
            raise InputError(f"scale kind {self.kind!r} must be 'linear' or 'piecewise'")
        if not self.low < self.cut < self.high:
            raise InputError(f"the scaled cut {self.cut:g} must lie strictly between {self.low:g} and {self.high:g}")
        if self.kind == "linear" and self.slope <= 0:
            raise InputError("the scale slope must be positive")

    def to_dict(self) -> dict:
        return dict(self.__dict__)

    def scaled(self, theta, theta_cut: float) -> np.ndarray:
        """Unrounded scaled scores for θ (n,) given the θ cut: linear S = S_cut + slope·(θ − θ_cut), or
        piecewise-linear through (θ_low, S_low), (θ_cut, S_cut), (θ_high, S_high); clipped to [S_low, S_high].
        Linear and piecewise-linear raw-to-scale conversions as in K&B 2014, ch. 9 (score scales); here the fixed
        point is the cut, so the scaled cut is the same on every form."""
        th = np.asarray(theta, dtype=float)
        if self.kind == "linear":
            s = self.cut + self.slope * (th - theta_cut)
        else:
            if not self.theta_low < theta_cut < self.theta_high:
                raise InputError(f"θ cut {theta_cut:g} is outside the piecewise scale's θ range "
                                 f"{self.theta_low:g} to {self.theta_high:g}")
            s = np.interp(th, [self.theta_low, theta_cut, self.theta_high], [self.low, self.cut, self.high])
        return np.clip(s, self.low, self.high)


def conversion_table(params: ItemParameters, theta_cut: float, scale: ScaleDefinition | None = None,
                     rule: str = "at_least") -> pd.DataFrame:
    """Raw → θ → scaled for every raw score 0..n of one form, with the pass decision.

    Columns raw, theta, scaled, passed; ``attrs['raw_cut']`` holds the form's raw cut (``raw_cut_from_theta``).
    """
    scale = scale or ScaleDefinition()
    n = params.n_items
    raw = np.arange(n + 1)
    theta = np.full(raw.shape, np.nan)
    inside = (raw > params.c.sum()) & (raw < n)
    theta[inside] = theta_for_true_score(raw[inside].astype(float), params)
    theta = np.where(raw <= params.c.sum(), scale.theta_low, theta)
    theta = np.where(raw >= n, scale.theta_high, theta)
    theta = np.clip(theta, scale.theta_low, scale.theta_high)
    raw_cut = raw_cut_from_theta(theta_cut, params, rule)
    passed = raw >= raw_cut
    scaled = np.round(scale.scaled(theta, theta_cut))
    scaled = np.where(passed, np.maximum(scaled, scale.cut), np.minimum(scaled, scale.cut - 1))
    frame = pd.DataFrame({"raw": raw, "theta": theta, "scaled": scaled.astype(int), "passed": passed})
    frame.attrs["raw_cut"] = raw_cut
    return frame


def score_candidates(scored, params: ItemParameters, theta_cut: float, areas=None, person_ids=None,
                     scale: ScaleDefinition | None = None, rule: str = "at_least") -> pd.DataFrame:
    """Per candidate: raw score, θ, scaled score, pass/fail and percent correct by competency area.

    scored: (n_persons, n_items) 0/1 (NaN = not presented, counted as wrong for the total); items in the
    order of ``params``. areas: (n_items,) area labels or None. θ and scaled come from the form's conversion
    table, so a candidate's reported decision always equals raw ≥ raw cut.
    """
    x = np.asarray(scored, dtype=float)
    if x.ndim != 2 or x.shape[1] != params.n_items:
        raise InputError(f"the responses have {x.shape[-1]} items but the form has {params.n_items}")
    table = conversion_table(params, theta_cut, scale, rule)
    raw = np.nansum(x, axis=1).astype(int)
    out = pd.DataFrame({"person_id": person_ids if person_ids is not None else np.arange(1, x.shape[0] + 1),
                        "raw": raw, "theta": table["theta"].to_numpy()[raw],
                        "scaled": table["scaled"].to_numpy()[raw]})
    out["result"] = np.where(table["passed"].to_numpy()[raw], "pass", "fail")
    if areas is not None:
        areas = np.asarray(areas, dtype=object)
        for area in pd.unique(areas):
            cols = areas == area
            out[f"pct_{area}"] = np.round(100.0 * np.nansum(x[:, cols], axis=1) / cols.sum(), 1)
    out["note"] = AREA_NOTE
    out.attrs["raw_cut"] = table.attrs["raw_cut"]
    return out


#: A θ cut beyond this many logits from the bank's origin is almost surely a typing error.
THETA_CUT_LIMIT = 6.0


def make_standard(theta_cut: float, source: dict | None = None, scale: ScaleDefinition | None = None) -> dict:
    """The record stored with ``bank.save_standard``: {theta_cut, scale, source} after validation."""
    if not np.isfinite(theta_cut) or abs(theta_cut) > THETA_CUT_LIMIT:
        raise InputError(f"θ cut {theta_cut:g} is outside the score range (−{THETA_CUT_LIMIT:g} to "
                         f"{THETA_CUT_LIMIT:g} logits)")
    scale = scale or ScaleDefinition()
    scale.scaled([theta_cut], theta_cut)  # a piecewise scale must contain the cut
    return {"theta_cut": float(theta_cut), "scale": scale.to_dict(), "source": source or {}}


def scale_from_dict(record: dict | None) -> ScaleDefinition:
    return ScaleDefinition(**(record or {}))
