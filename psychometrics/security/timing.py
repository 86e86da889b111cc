"""Aberrant timing: correct answers too fast for the item, under a log-normal response-time model.

The model (van der Linden 2006, "A lognormal model for response times on test items", J. Educ. Behav. Stat.
31, eq. 5): the log time of person i on item j is normal,

    ln T_ij = β_j − τ_i + ε_ij,   ε_ij ~ N(0, 1/α_j²),

with β_j the item's time intensity (its length and difficulty in log seconds), τ_i the person's speed and
α_j the item's discrimination (the precision of its times). Here the parameters are fitted by weighted least
squares, which is the joint maximum likelihood of this normal model (ibid., sec. 3 gives the likelihood; it
then fits by MCMC), alternating

    τ_i = Σ_j w_j (β_j − l_ij) / Σ_j w_j,   w_j = α_j²   (the mean of τ held at 0, which identifies β),
    β_j = mean_i (l_ij + τ_i),
    1/α_j² = Σ_i e_ij² / Σ_i (1 − w_j / W_i),   e_ij = l_ij − β_j + τ_i,  W_i = Σ_j w_j over i's timed items,

the last the residual variance with each residual's own leverage w_j / W_i on τ_i taken out (the hat-matrix
diagonal of the weighted mean). Missing times (NaN) are left out of every sum.

A response is judged against the person's speed on the *other* items (the deleted residual, so a fast
answer does not hide itself by speeding up τ_i):

    τ_i(−j) = Σ_{k≠j} w_k (β_k − l_ik) / (W_i − w_j),   Var τ_i(−j) = 1 / (W_i − w_j),
    z_ij = (l_ij − β_j + τ_i(−j)) / √(1/w_j + 1/(W_i − w_j)),

standard normal under the model with the item parameters known. A correct answer with z_ij below
Φ⁻¹(``response_alpha``) (default .005: z < −2.576) is *fast-correct*. A candidate's count K of fast-correct
answers among the timed ones is tested against chance: each is fast with probability q = ``response_alpha``
and, independently of its time, correct with probability P_j(θ̂_i) when the IRT probabilities are given, so
K is a sum of independent Bernoulli(q · P_ij) (the exact tail of ``similarity.upper_tail``); without them
K ≤ Binomial(n_i, q) in the upper tail, a conservative test. Flagged: p < ``alpha``.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.stats import norm

from psychometrics.security.similarity import upper_tail

#: Per-response level of "too fast": z below Φ⁻¹(.005) = −2.576.
RESPONSE_ALPHA = 0.005
#: Alternations of the least-squares fit (converged to 1e-10 well before this on simulated data).
MAX_ITER = 200
TOL = 1e-10
#: Fewer timed persons than this on an item, or timed items than this for a person, give no residual.
MIN_TIMED = 3
#: The robust pass leaves responses with |deleted z| beyond this out of the fit (``robust_fit``).
TRIM_Z = 3.0
MAX_TRIM_PASSES = 5


@dataclass(frozen=True)
class LognormalTimes:
    """Fitted log-normal model: item time intensity β, precision α, person speed τ (log seconds)."""

    beta: np.ndarray
    alpha: np.ndarray
    tau: np.ndarray
    n_iter: int


@dataclass(frozen=True)
class TimingResult:
    """``persons``: one row per candidate, most fast-correct answers first; ``responses``: the fast-correct
    responses; ``items``: the fitted item parameters and the fast line in seconds for an average-speed person."""

    persons: pd.DataFrame
    responses: pd.DataFrame
    items: pd.DataFrame
    model: LognormalTimes
    alpha: float
    response_alpha: float

    @property
    def n_flagged(self) -> int:
        return int(self.persons["flagged"].sum())

    def to_frame(self) -> pd.DataFrame:
        return self.persons


def fit_lognormal(log_t, truncated_at: float | None = None) -> LognormalTimes:
    """β, α and τ of the log-normal model from log times (n_persons, n_items; NaN = not timed), by the
    alternating weighted least squares of the module docstring. ``truncated_at`` c: the times were trimmed
    to |z| ≤ c, so each residual variance is divided by the variance of a standard normal truncated to
    [−c, c], 1 − 2cφ(c) / (2Φ(c) − 1) (Johnson, Kotz & Balakrishnan 1994, eq. 13.134), which makes it
    consistent again (c = 3: 0.9733)."""
    lt = np.asarray(log_t, float)
    shrink = 1.0
    if truncated_at is not None:
        c = float(truncated_at)
        shrink = 1.0 - 2 * c * norm.pdf(c) / (2 * norm.cdf(c) - 1)
    m = ~np.isnan(lt)
    y = np.where(m, lt, 0.0)
    n_j = np.maximum(m.sum(axis=0), 1)
    tau = np.zeros(lt.shape[0])
    beta = y.sum(axis=0) / n_j
    w = np.ones(lt.shape[1])
    it = 0
    for it in range(1, MAX_ITER + 1):
        W = (m * w).sum(axis=1)
        tau_new = np.where(W > 0, (m * w * (beta - y)).sum(axis=1) / np.where(W > 0, W, 1), 0.0)
        tau_new -= tau_new[W > 0].mean() if (W > 0).any() else 0.0
        beta = (m * (y + tau_new[:, None])).sum(axis=0) / n_j
        e = np.where(m, y - beta + tau_new[:, None], 0.0)
        with np.errstate(divide="ignore", invalid="ignore"):
            dof = (m * (1 - w[None, :] / np.where(W > 0, W, np.inf)[:, None])).sum(axis=0)
            var = (e * e).sum(axis=0) / dof / shrink
        w = 1.0 / np.clip(np.nan_to_num(var, nan=1.0), 1e-6, None)
        done = np.max(np.abs(tau_new - tau)) < TOL
        tau = tau_new
        if done:
            break
    return LognormalTimes(beta, np.sqrt(w), tau, it)


def deleted_residuals(log_t, beta, alpha, keep=None) -> tuple[np.ndarray, np.ndarray]:
    """(z_ij, τ_i(−j)) of every timed response: its residual against the person's speed on the other items
    (module docstring); NaN where the response is not timed or the person has fewer than ``MIN_TIMED``.
    ``keep`` (n, J) bool: the person's speed comes from the kept responses only (the robust pass); a
    response left out is judged against all of them, a kept one against the others."""
    lt = np.asarray(log_t, float)
    w = np.asarray(alpha, float) ** 2
    m = ~np.isnan(lt)
    keep = m if keep is None else (np.asarray(keep, bool) & m)
    y = np.where(m, lt, 0.0)
    kw = keep * w[None, :]
    W = kw.sum(axis=1, keepdims=True)
    S = (kw * (np.asarray(beta)[None, :] - y)).sum(axis=1, keepdims=True)
    rest = W - kw                                      # a kept response leaves its own term out
    with np.errstate(divide="ignore", invalid="ignore"):
        tau_minus = (S - kw * (np.asarray(beta)[None, :] - y)) / rest
        z = (y - beta[None, :] + tau_minus) / np.sqrt(1 / w[None, :] + 1 / rest)
    others = keep.sum(axis=1, keepdims=True) - keep
    out = ~m | (others < MIN_TIMED - 1)
    z[out] = np.nan
    tau_minus[out] = np.nan
    return z, tau_minus


def robust_fit(log_t) -> tuple[LognormalTimes, np.ndarray]:
    """The log-normal model fitted without the responses it cannot explain, and which responses were kept.

    A first fit of every time; then, up to ``MAX_TRIM_PASSES`` times, the responses whose deleted residual
    lies beyond ±``TRIM_Z`` are left out and the model refitted with the truncation-consistent variance
    (``fit_lognormal(truncated_at=TRIM_Z)``), until the kept set stops changing. One fast answer cannot
    hide itself (the residual is deleted), but a candidate fast on a third of the items speeds up their own
    τ and widens the items' time variance; trimming them from the fit is the classical remedy (a trimmed
    least-squares estimator, Ruppert & Carroll 1980), and under the model it drops 0.27% of times."""
    lt = np.asarray(log_t, float)
    timed = ~np.isnan(lt)
    model = fit_lognormal(lt)
    keep = timed
    for _ in range(MAX_TRIM_PASSES):
        z, _ = deleted_residuals(lt, model.beta, model.alpha, keep=keep)
        new_keep = timed & ~(np.abs(z) > TRIM_Z)
        if np.array_equal(new_keep, keep):
            break
        keep = new_keep
        model = fit_lognormal(np.where(keep, lt, np.nan), truncated_at=TRIM_Z)
    return model, keep


def aberrant_timing(seconds, x, *, p_correct=None, person_ids=None, item_ids=None, alpha: float = 0.001,
                    response_alpha: float = RESPONSE_ALPHA) -> TimingResult:
    """Fast-correct answers and the candidates with too many of them (module docstring).

    seconds: (n, J) response times (NaN = not timed; must be > 0); x: (n, J) scored 1/0/NaN; p_correct:
    (n, J) P_j(θ̂_i) or None (then the conservative binomial)."""
    t = np.asarray(seconds, float)
    x = np.asarray(x, float)
    n, J = t.shape
    ids = np.arange(1, n + 1).astype(str) if person_ids is None else np.asarray(person_ids).astype(str)
    item_ids = np.array([f"item{j + 1}" for j in range(J)] if item_ids is None else list(item_ids))
    lt = np.log(t)
    model, keep = robust_fit(lt)
    z, tau_minus = deleted_residuals(lt, model.beta, model.alpha, keep=keep)
    crit = norm.ppf(response_alpha)
    timed = ~np.isnan(z)
    fast = timed & (z < crit)
    fast_correct = fast & (x == 1)
    pi = np.where(timed, response_alpha * (1.0 if p_correct is None else np.asarray(p_correct, float)), 0.0)
    k = fast_correct.sum(axis=1)
    p = upper_tail(pi, k)
    fast_items = [" ".join(item_ids[row]) for row in fast_correct]
    persons = pd.DataFrame({"candidate_id": ids, "n_timed": timed.sum(axis=1),
                            "minutes": np.round(np.nansum(t, axis=1) / 60, 2), "speed": model.tau,
                            "n_fast": fast.sum(axis=1), "n_fast_correct": k,
                            "expected_fast_correct": pi.sum(axis=1), "p_value": p, "flagged": p < alpha,
                            "fast_correct_items": fast_items})
    persons = persons.sort_values(["p_value", "n_fast_correct"], ascending=[True, False],
                                  kind="stable").reset_index(drop=True)
    r, c = np.nonzero(fast_correct)
    expected = np.exp(model.beta[c] - tau_minus[r, c])   # the item's time at the person's other-item speed
    responses = pd.DataFrame({"candidate_id": ids[r], "item_id": item_ids[c], "seconds": t[r, c],
                              "typical_seconds": np.round(expected, 1), "z": z[r, c]})
    responses = responses.sort_values(["candidate_id", "z"], kind="stable").reset_index(drop=True)
    items = pd.DataFrame({"item_id": item_ids, "n_timed": timed.sum(axis=0), "time_intensity": model.beta,
                          "time_precision": model.alpha, "median_seconds": np.round(np.exp(model.beta), 1),
                          "fast_below_seconds": np.round(np.exp(model.beta + crit / model.alpha), 1),
                          "n_fast_correct": fast_correct.sum(axis=0)})
    return TimingResult(persons, responses, items, model, alpha, response_alpha)
