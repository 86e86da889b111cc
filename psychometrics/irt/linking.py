"""Linking a free calibration onto the bank scale through common items (Kolen & Brennan 2014, ch. 6).

The new scale relates to the bank scale by θ_bank = A θ_new + B, so item parameters move as
    a_bank = a_new / A,   b_bank = A b_new + B,   c_bank = c_new          (K&B 2014, eqs. 6.2–6.4).

- mean/mean (Loyd & Hoover 1980):  A = mean(a_new) / mean(a_bank),  B = mean(b_bank) − A mean(b_new).
- mean/sigma (Marco 1977):         A = sd(b_bank) / sd(b_new),      B as above            (K&B eqs. 6.8–6.9).
- Haebara (1980):  minimize Σ_q w_q Σ_j [P_j(x_q; bank) − P_j(x_q; new → bank)]²
- Stocking & Lord (1983):  minimize Σ_q w_q [Σ_j P_j(x_q; bank) − Σ_j P_j(x_q; new → bank)]²
  The characteristic-curve criteria are summed over quadrature nodes x_q on the bank scale with N(0, 1)
  weights (K&B 2014, sec. 6.3.2: one direction, the "old" scale); minimized by BFGS from mean/sigma.

Input frames have columns item_id, a, b, c (c optional; blank c means 0); only items in both frames are used.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import optimize

from certbank_core.errors import EstimationError, InputError, Problem
from psychometrics.irt.models import D_LOGISTIC, probability
from psychometrics.irt.quadrature import make_quadrature

METHODS = ("mean-mean", "mean-sigma", "haebara", "stocking-lord")
MIN_COMMON_ITEMS = 2


@dataclass(frozen=True)
class Linking:
    """Linking constants A, B (θ_bank = A θ_new + B) and how they were found."""

    method: str
    A: float
    B: float
    n_common: int
    common_items: tuple[str, ...]
    criterion: float = float("nan")   # value of the minimized loss (characteristic-curve methods)

    def apply(self, frame: pd.DataFrame) -> pd.DataFrame:
        """Parameters of ``frame`` (item_id, a, b, c, se_a, se_b ...) carried onto the bank scale."""
        return transform(frame, self.A, self.B)

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame([{"method": self.method, "A": self.A, "B": self.B, "n_common": self.n_common,
                              "criterion": self.criterion}])


def transform(frame: pd.DataFrame, A: float, B: float) -> pd.DataFrame:
    """a/A, A b + B, c unchanged; standard errors scale the same way (se_a/A, A se_b)."""
    out = frame.copy()
    out["a"] = frame["a"] / A
    out["b"] = A * frame["b"] + B
    if "se_a" in out:
        out["se_a"] = frame["se_a"] / A
    if "se_b" in out:
        out["se_b"] = A * frame["se_b"]
    return out


def _common(new: pd.DataFrame, bank: pd.DataFrame):
    problems = []
    for name, f in (("new", new), ("bank", bank)):
        missing = [c for c in ("item_id", "a", "b") if c not in f.columns]
        if missing:
            problems.append(Problem(f"the {name} parameters lack column(s) {', '.join(missing)}"))
    if problems:
        raise InputError(problems)
    merged = new.merge(bank, on="item_id", suffixes=("_new", "_bank"))
    if len(merged) < MIN_COMMON_ITEMS:
        raise EstimationError(f"Linking needs at least {MIN_COMMON_ITEMS} common items; found {len(merged)}.")
    get = lambda col, side: merged[f"{col}_{side}"].to_numpy(float) if f"{col}_{side}" in merged \
        else np.zeros(len(merged))
    bad = [Problem(f"common item {iid}: the {side} parameters have no usable {col}")
           for side in ("new", "bank") for col in ("a", "b")
           for iid in merged["item_id"][~np.isfinite(get(col, side))]]
    if bad:
        raise InputError(bad)
    # a blank c is a 1PL/2PL item: no lower asymptote (NaN would make the curve criteria NaN everywhere)
    sides = {s: (get("a", s), get("b", s), np.nan_to_num(get("c", s), nan=0.0)) for s in ("new", "bank")}
    return merged, sides


def link(new: pd.DataFrame, bank: pd.DataFrame, method: str = "stocking-lord", *, D: float = D_LOGISTIC,
         quadrature=None) -> Linking:
    """Linking constants putting ``new`` (a free calibration) on the scale of ``bank`` via common items."""
    method = method.lower()
    if method not in METHODS:
        raise InputError(Problem(f"unknown linking method {method!r}; choose one of {', '.join(METHODS)}"))
    merged, p = _common(new, bank)
    (a_n, b_n, c_n), (a_b, b_b, c_b) = p["new"], p["bank"]
    ids = tuple(merged["item_id"].astype(str))
    sd_new = b_n.std()
    if sd_new == 0:
        raise EstimationError("The common items all have the same difficulty on the new scale: cannot link.")
    A_ms = b_b.std() / sd_new
    B_ms = b_b.mean() - A_ms * b_n.mean()
    if method == "mean-sigma":
        return Linking(method, float(A_ms), float(B_ms), len(ids), ids)
    if method == "mean-mean":
        A = a_n.mean() / a_b.mean()
        return Linking(method, float(A), float(b_b.mean() - A * b_n.mean()), len(ids), ids)
    quad = quadrature or make_quadrature(41, "equal", 4.0)
    x, w = quad.nodes, quad.weights_for()
    target = probability(x, a_b, b_b, c_b, D)                      # (n_nodes, n_common)

    def loss(v):
        A, B = v
        moved = probability(x, a_n / A, A * b_n + B, c_n, D)
        diff = target - moved
        if method == "haebara":
            return float(w @ (diff * diff).sum(axis=1))
        return float(w @ diff.sum(axis=1) ** 2)

    res = optimize.minimize(loss, np.array([A_ms, B_ms]), method="Nelder-Mead",
                            options={"xatol": 1e-10, "fatol": 1e-14, "maxiter": 4000})
    A, B = res.x
    if not (np.isfinite(A) and A > 0 and np.isfinite(res.fun)):
        raise EstimationError(f"The {method} criterion has no usable minimum for these common items.")
    return Linking(method, float(A), float(B), len(ids), ids, float(res.fun))
