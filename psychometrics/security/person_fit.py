"""Person fit: is a candidate's pattern of right and wrong answers plausible under the IRT model?

- lz (Drasgow, Levine & Williams 1985, eqs. 2–4): the standardized log-likelihood of the pattern at θ,
      l0 = Σ x log P + (1 − x) log Q,  E(l0) = Σ P log P + Q log Q,  Var(l0) = Σ P Q (log P/Q)²,
      lz = (l0 − E) / √Var = Σ (x − P) w / √(Σ P Q w²),  w = log(P/Q).
  Standard normal only when θ is known; with θ estimated its variance is below 1 and the lower tail is too
  thin (a conservative test).
- lz* (Snijders 2001, sec. 3; as laid out by Magis, Raîche & Béland 2012): the correction for an estimated θ
  that solves Σ (x − P) r + r0(θ) = 0, with r = P' / (P Q) and r0 = 0 for ML, J / (2 I) for WLE:
      c = Σ P' w / Σ P' r,  w̃ = w − c r,
      lz* = [Σ (x − P) w + c r0] / √(Σ P Q w̃²),  all at θ̂;
  asymptotically standard normal. Small values mean misfit. At 120 items its lower tail is still heavier
  than the normal one (simulated: 0.2% of honest candidates below Φ⁻¹(.001)), so the p-value is the
  one-term Edgeworth expansion (Hall 1992, sec. 2.2) with the skewness of the numerator at θ̂:
      γ = Σ w̃³ P Q (Q − P) / (Σ P Q w̃²)^{3/2},  p = Φ(lz*) − φ(lz*) γ (lz*² − 1) / 6,
  which brings the simulated rate back to the nominal level.
- U3 (van der Flier 1982): items ordered easiest first by their proportion correct p, f = log(p / (1 − p));
  for a raw score r,  U3 = (Σ_{j≤r} f_j − Σ x_j f_j) / (Σ_{j≤r} f_j − Σ_{j>n−r} f_j),  0 for a perfect
  Guttman pattern, 1 for its reverse; undefined (NaN) at r = 0 and r = n. U3 is nonparametric and
  descriptive here: its null distribution depends on the person and the items, so it carries no p-value.

Shapes: x (n_persons, n_items) of 1/0/NaN (NaN: not presented, left out of every sum); θ (n_persons,);
item parameters (n_items,). Everything is vectorized over persons × items.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.stats import norm

from psychometrics.irt.models import D_LOGISTIC

_P_FLOOR = 1e-10


@dataclass(frozen=True)
class PersonFit:
    """Per candidate: lz, lz*, its lower-tail (Edgeworth) p-value, U3; ``flagged`` is p below ``alpha``."""

    person_ids: np.ndarray
    theta: np.ndarray
    lz: np.ndarray
    lz_star: np.ndarray
    p_value: np.ndarray
    u3: np.ndarray
    n_answered: np.ndarray
    alpha: float
    theta_method: str

    @property
    def flagged(self) -> np.ndarray:
        return self.p_value < self.alpha

    def to_frame(self) -> pd.DataFrame:
        """One row per candidate, the worst (smallest lz*) first."""
        frame = pd.DataFrame({"candidate_id": self.person_ids, "theta": self.theta, "n_answered": self.n_answered,
                              "lz": self.lz, "lz_star": self.lz_star, "p_value": self.p_value, "u3": self.u3,
                              "flagged": self.flagged})
        return frame.sort_values("lz_star", kind="stable", na_position="last").reset_index(drop=True)


def _terms(theta, a, b, c, D):
    """P, Q, P' and P'' of the 3PL at each person's θ: (n_persons, n_items) each."""
    alpha = D * np.asarray(a, float)[None, :]
    s = 1.0 / (1.0 + np.exp(-alpha * (np.asarray(theta, float)[:, None] - np.asarray(b, float)[None, :])))
    c = np.asarray(c, float)[None, :]
    p = np.clip(c + (1 - c) * s, _P_FLOOR, 1 - _P_FLOOR)
    dp = (1 - c) * alpha * s * (1 - s)
    d2p = dp * alpha * (1 - 2 * s)
    return p, 1.0 - p, dp, d2p


def lz_statistics(x, theta, a, b, c=None, *, D: float = D_LOGISTIC, estimator: str = "wle"):
    """(lz, lz*, γ) for every person: lz at θ as given, lz* with Snijders' correction for θ estimated by
    ``estimator`` ('ml' or 'wle'; the r0 term of the estimating equation). Persons with no answers get NaN."""
    x = np.asarray(x, float)
    c = np.zeros_like(np.asarray(b, float)) if c is None else c
    m = ~np.isnan(x)
    y = np.where(m, x, 0.0)
    p, q, dp, d2p = _terms(theta, a, b, c, D)
    pq = p * q
    w = np.log(p / q) * m
    r = dp / pq * m
    resid = (y - p) * m
    W = (resid * w).sum(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        lz = W / np.sqrt((pq * w * w).sum(axis=1))
        cn = (dp * w).sum(axis=1) / (dp * r).sum(axis=1)
        if estimator.lower() in ("wle", "warm"):
            info = (dp * dp / pq * m).sum(axis=1)
            r0 = (dp * d2p / pq * m).sum(axis=1) / (2 * info)
        elif estimator.lower() in ("ml", "mle"):
            r0 = np.zeros_like(W)
        else:
            raise ValueError(f"lz* needs an ML or WLE θ, not {estimator!r}")
        w_tilde = w - cn[:, None] * r
        sd = np.sqrt((pq * w_tilde * w_tilde).sum(axis=1))
        lz_star = (W + cn * r0) / sd
        skew = (w_tilde ** 3 * pq * (q - p)).sum(axis=1) / sd ** 3
    return lz, lz_star, skew


def lower_tail_p(z, skew) -> np.ndarray:
    """P(Z ≤ z) by the one-term Edgeworth expansion (module docstring), kept inside [0, 1]."""
    z, skew = np.asarray(z, float), np.asarray(skew, float)
    return np.clip(norm.cdf(z) - norm.pdf(z) * skew * (z * z - 1) / 6, 0.0, 1.0)


def u3(x, p_values=None) -> np.ndarray:
    """van der Flier's U3 for every person (see the module docstring); ``p_values`` default to the items'
    proportions correct in ``x``. Items with p of 0 or 1 carry no order and are left out; so are NaN cells."""
    x = np.asarray(x, float)
    if p_values is None:
        p_values = np.nanmean(x, axis=0)
    p_values = np.asarray(p_values, float)
    keep = (p_values > 0) & (p_values < 1)
    x, p_values = x[:, keep], p_values[keep]
    order = np.argsort(-p_values, kind="stable")
    x, f = x[:, order], np.log(p_values[order] / (1 - p_values[order]))
    m = ~np.isnan(x)
    y = np.where(m, x, 0.0)
    # Each person's own answered items, easiest first: the cumulative sums of f over answered items give the
    # best (first r) and, from the end, the worst (last r) sums for any raw score r.
    fm = np.where(m, f[None, :], 0.0)
    cum = np.cumsum(fm, axis=1)
    total = cum[:, -1]
    # count[k]: answered items up to column k; the r easiest answered items end where it first reaches r
    count = np.cumsum(m, axis=1)
    raw = y.sum(axis=1).astype(int)
    n = m.sum(axis=1)
    best = np.where(raw > 0, _cum_at(cum, count, raw), 0.0)
    worst = total - np.where(n - raw > 0, _cum_at(cum, count, n - raw), 0.0)
    observed = (y * f[None, :]).sum(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = (best - observed) / (best - worst)
    out[(raw == 0) | (raw == n)] = np.nan
    return out


def _cum_at(cum, count, k):
    """cum at the first column where count reaches k, per row (k ≥ 1)."""
    pos = (count < k[:, None]).sum(axis=1)
    pos = np.minimum(pos, cum.shape[1] - 1)
    return cum[np.arange(cum.shape[0]), pos]


def person_fit(x, theta, a, b, c=None, *, D: float = D_LOGISTIC, estimator: str = "wle", person_ids=None,
               p_values=None, alpha: float = 0.001) -> PersonFit:
    """lz, lz* (θ̂ by ``estimator``), its lower-tail p-value, and U3 for every person (module docstring)."""
    x = np.asarray(x, float)
    lz, lz_star, skew = lz_statistics(x, theta, a, b, c, D=D, estimator=estimator)
    ids = np.arange(1, x.shape[0] + 1).astype(str) if person_ids is None else np.asarray(person_ids)
    return PersonFit(ids, np.asarray(theta, float), lz, lz_star, lower_tail_p(lz_star, skew), u3(x, p_values),
                     (~np.isnan(x)).sum(axis=1), alpha, estimator)
