"""Conditional maximum likelihood (CML) estimation of the dichotomous Rasch model.

Under the Rasch model P(x_ij = 1 | θ_i) = exp(θ_i − b_j) / (1 + exp(θ_i − b_j)) the raw score r_i is
sufficient for θ_i, so conditioning on it removes θ (Andersen 1972; Fischer & Molenaar 1995, ch. 3):

    P(x_i | r_i) = Π_j ε_j^{x_ij} / γ_{r_i}(ε),      ε_j = exp(−b_j),

with γ_r the elementary symmetric function (ESF) of order r of the ε of the items person i answered. The
conditional log-likelihood of the sample is

    log L_C(b) = −Σ_j s_j b_j − Σ_i log γ_{r_i}(ε),        s_j = Σ_i x_ij,

and persons with a zero or perfect score (r_i = 0 or all answered items right) contribute nothing to it.
Its gradient is ∂ log L_C / ∂b_j = −s_j + Σ_i π_{j|r_i}, π_{j|r} = ε_j γ_{r−1}^{(j)} / γ_r (the probability
of a right answer to item j given the score r; γ^{(j)} leaves item j out), and its negative Hessian, the
conditional information, is Σ_i Cov(x_i | r_i): π_{j|r}(1 − π_{j|r}) on the diagonal and
ε_j ε_k γ_{r−2}^{(j,k)} / γ_r − π_{j|r} π_{k|r} off it (Fischer & Molenaar 1995, eqs. 3.12–3.16).

ESFs are computed by the summation algorithm (Fischer & Molenaar 1995, sec. 3.3; Verhelst, Glas & van der
Sluis 1984): adding the items one at a time, γ_r ← γ_r + ε_j γ_{r−1}. The ESFs leaving one (or two) items out
come from the same recursion run over every item but those. All arrays are rescaled by a common factor after
each item so that nothing overflows; the ratios above are unchanged and log γ carries the factors back.
Missing responses (NaN, not presented) are handled as eRm does: the ESFs of each person run over the items
that person answered (an unanswered item gets ε = 0, which removes it from every ESF exactly).

The scale is fixed by Σ_j b_j = 0 (eRm's ``sum0 = TRUE``). The estimates maximize log L_C by BFGS on the k − 1
free parameters with the analytic gradient and are polished by Newton steps on the conditional information;
their covariance is W (Wᵀ I W)⁻¹ Wᵀ with b = W η, W = [I; −1ᵀ] (so every item, the last too, has an SE).

Person θ by raw score (``theta_by_score``): the maximum-likelihood θ of a person who answered every item
solves Σ_j P_j(θ) = r, given the CML difficulties (Fischer & Molenaar 1995, ch. 3, the "two-step" person
estimates eRm's ``person.parameter`` reports), SE 1/√I(θ). Zero and perfect scores have no finite ML θ: they are
held at the scoring bounds ``scoring.THETA_BOUNDS`` (−4, +4) and marked ``bounded``, as ``scoring.mle`` does.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import optimize

from certbank_core.errors import EstimationError, InputError, Problem

THETA_BOUNDS = (-4.0, 4.0)   # the same bounds as psychometrics.irt.scoring.THETA_BOUNDS


# ----------------------------------------------------------------------------------------------------------
# Elementary symmetric functions by the summation algorithm

def esf(eps: np.ndarray, order: int = 0):
    """Elementary symmetric functions of ``eps`` (n_groups, k) by the summation algorithm.

    Returns (gamma, log_scale, gamma1[, gamma2]):
      gamma (n_groups, k + 1): γ_r for r = 0..k, divided by exp(log_scale);
      gamma1 (n_groups, k, k + 1) when order ≥ 1: γ_r^{(j)} (item j left out), same scale;
      gamma2 (n_groups, k, k, k + 1) when order ≥ 2: γ_r^{(j,l)} (items j and l left out), same scale;
      log_scale (n_groups,).
    Fischer & Molenaar (1995), sec. 3.3: γ_r(ε_1..ε_j) = γ_r(ε_1..ε_{j−1}) + ε_j γ_{r−1}(ε_1..ε_{j−1}).
    """
    eps = np.atleast_2d(np.asarray(eps, dtype=float))
    g, k = eps.shape
    gamma = np.zeros((g, k + 1))
    gamma[:, 0] = 1.0
    log_scale = np.zeros(g)
    gamma1 = np.zeros((g, k, k + 1)) if order >= 1 else None
    if gamma1 is not None:
        gamma1[:, :, 0] = 1.0
    gamma2 = np.zeros((g, k, k, k + 1)) if order >= 2 else None
    if gamma2 is not None:
        gamma2[..., 0] = 1.0
    idx = np.arange(k)
    for j in range(k):
        e = eps[:, j]
        gamma[:, 1:] = gamma[:, 1:] + e[:, None] * gamma[:, :-1]
        if gamma1 is not None:
            keep = idx != j                                   # every "leave-one-out" set but item j's own
            upd = gamma1[:, keep, 1:] + e[:, None, None] * gamma1[:, keep, :-1]
            gamma1[:, keep, 1:] = upd
        if gamma2 is not None:
            # every pair (l, m) without j takes item j in; the pairs with j are kept as they were. Updating
            # all pairs in place and restoring j's row and column moves k² (k + 1) numbers once instead of
            # copying them out and back through a boolean mask (the copies made a 130-item Hessian 20 s)
            row, col = gamma2[:, j].copy(), gamma2[:, :, j].copy()
            gamma2[..., 1:] += e[:, None, None, None] * gamma2[..., :-1]
            gamma2[:, j], gamma2[:, :, j] = row, col
        top = gamma.max(axis=1)
        log_scale += np.log(top)
        gamma /= top[:, None]
        if gamma1 is not None:
            gamma1 /= top[:, None, None]
        if gamma2 is not None:
            gamma2 /= top[:, None, None, None]
    out = [gamma, log_scale]
    if gamma1 is not None:
        out.append(gamma1)
    if gamma2 is not None:
        out.append(gamma2)
    return tuple(out)


# ----------------------------------------------------------------------------------------------------------
# The data: persons grouped by (answered items, raw score)

@dataclass(frozen=True)
class _Groups:
    masks: np.ndarray      # (n_patterns, k) 1 where the pattern's items were answered
    counts: np.ndarray     # (n_patterns, k + 1) persons with each raw score (extremes removed)
    s: np.ndarray          # (k,) right answers per item among the persons used
    n_used: int
    n_extreme: int


def _groups(x: np.ndarray) -> _Groups:
    answered = ~np.isnan(x)
    right = np.where(answered, x, 0.0)
    r = right.sum(axis=1).astype(int)
    n_ans = answered.sum(axis=1)
    use = (r > 0) & (r < n_ans)
    masks, inverse = np.unique(answered[use].astype(np.int8), axis=0, return_inverse=True)
    inverse = np.asarray(inverse).ravel()
    k = x.shape[1]
    counts = np.zeros((masks.shape[0], k + 1))
    np.add.at(counts, (inverse, r[use]), 1.0)
    return _Groups(masks.astype(float), counts, right[use].sum(axis=0), int(use.sum()), int((~use).sum()))


def _log_lik_and_grad(b: np.ndarray, grp: _Groups):
    """log L_C(b) and its gradient in b (k,)."""
    eps = np.exp(-b)[None, :] * grp.masks
    gamma, log_scale, gamma1 = esf(eps, order=1)
    with np.errstate(divide="ignore"):
        log_gamma = np.log(gamma) + log_scale[:, None]
    used = grp.counts > 0
    ll = -grp.s @ b - np.sum(grp.counts * np.where(used, log_gamma, 0.0))
    # π_{j|r} = ε_j γ_{r−1}^{(j)} / γ_r for r ≥ 1
    pi = eps[:, :, None] * gamma1[:, :, :-1] / np.where(gamma[:, None, 1:] > 0, gamma[:, None, 1:], 1.0)
    expected = np.einsum("gr,gjr->j", grp.counts[:, 1:], pi)
    return ll, -grp.s + expected


def _information(b: np.ndarray, grp: _Groups) -> np.ndarray:
    """Conditional information Σ_i Cov(x_i | r_i), (k, k); one pattern of answered items at a time."""
    total = np.zeros((b.size, b.size))
    for g in range(grp.masks.shape[0]):
        total += _information_one(b, grp.masks[g:g + 1], grp.counts[g:g + 1])
    return total


#: Pairs of answered items whose ε differ by less than this (relative) take the exact second-order ESFs.
CLOSE_PAIR = 1e-6


def _information_one(b: np.ndarray, masks: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """Σ over the pattern's persons of Cov(x | r), (k, k).

    The joint probability π_{jl|r} = ε_j ε_l γ_{r−2}^{(j,l)} / γ_r needs no second-order ESFs: from
    γ_r^{(j)} − γ_r^{(l)} = (ε_l − ε_j) γ_{r−1}^{(j,l)} (both sides leave j and l out, then add the other),

        π_{jl|r} = (ε_l π_{j|r} − ε_j π_{l|r}) / (ε_l − ε_j),       j ≠ l, ε_j ≠ ε_l,

    (Verhelst, Glas & van der Sluis 1984 use the same difference), so a pattern costs k² (k + 1) instead of
    the summation algorithm's k³ (k + 1) (130 items: 1.4 s → a few ms). Its cancellation grows as ε_l → ε_j;
    pairs closer than ``CLOSE_PAIR`` take the exact ESFs of the items without j and l."""
    eps = np.exp(-b)[None, :] * masks
    gamma, log_scale, gamma1 = esf(eps, order=1)
    k = b.size
    denom = np.where(gamma[:, 1:] > 0, gamma[:, 1:], 1.0)                 # γ_r, r = 1..k
    pi = (eps[:, :, None] * gamma1[:, :, :-1] / denom[:, None, :])[0]    # (k, r = 1..k)
    e = eps[0]
    both = (e[:, None] > 0) & (e[None, :] > 0)
    diff = e[None, :] - e[:, None]                                       # ε_l − ε_j
    close = both & (np.abs(diff) <= CLOSE_PAIR * np.maximum(e[:, None], e[None, :]))
    np.fill_diagonal(close, False)
    with np.errstate(divide="ignore", invalid="ignore"):
        pij = (e[None, :, None] * pi[:, None, :] - e[:, None, None] * pi[None, :, :]) / diff[:, :, None]
    pij[~both | (diff == 0)] = 0.0                                       # an unanswered item is never right
    pairs = np.argwhere(np.triu(close))
    if len(pairs) > k:  # many ties (equal starting values): the summation algorithm once beats a pass per pair
        _, _, _, gamma2 = esf(eps, order=2)
        pij[..., 1:] = e[:, None, None] * e[None, :, None] * gamma2[0, :, :, :-2] / denom[0, None, None, 1:]
        pairs = ()
    for j, l in pairs:
        rest = e.copy()
        rest[[j, l]] = 0.0
        g2, scale2 = esf(rest[None, :])                                  # γ^{(j,l)} on its own scale
        exact = np.zeros(k)
        exact[1:] = e[j] * e[l] * g2[0, :k - 1] * np.exp(scale2[0] - log_scale[0]) / denom[0, 1:]
        pij[j, l] = pij[l, j] = exact
    idx = np.arange(k)
    pij[idx, idx, :] = pi                                                # E[x_j² | r] = π_{j|r}
    cov = pij - pi[:, None, :] * pi[None, :, :]
    return np.einsum("r,jlr->jl", counts[0, 1:], cov)


# ----------------------------------------------------------------------------------------------------------
# The result

@dataclass(frozen=True)
class CMLCalibration:
    """CML Rasch difficulties (Σ b = 0) with SEs from the conditional information. Arrays (n_items,)."""

    item_ids: tuple[str, ...]
    b: np.ndarray
    se_b: np.ndarray
    covariance: np.ndarray            # (n_items, n_items)
    conditional_log_likelihood: float
    n_persons: int                    # all rows given
    n_used: int                       # rows with a score neither zero nor perfect
    n_parameters: int                 # n_items − 1
    iterations: int
    converged: bool
    gradient_norm: float

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame({"item_id": list(self.item_ids), "b": self.b, "se_b": self.se_b})

    def summary(self) -> dict:
        return {"method": "cml", "conditional_log_likelihood": self.conditional_log_likelihood,
                "n_parameters": self.n_parameters, "n_persons": self.n_persons, "n_used": self.n_used,
                "n_extreme": self.n_persons - self.n_used, "iterations": self.iterations,
                "converged": self.converged, "normalization": "sum of b = 0"}


def _design(k: int) -> np.ndarray:
    """b = W η with Σ b = 0: W = [I_{k−1}; −1ᵀ]."""
    return np.vstack([np.eye(k - 1), -np.ones((1, k - 1))])


def calibrate_cml(responses, *, item_ids=None, tol: float = 1e-8, max_iter: int = 500) -> CMLCalibration:
    """Rasch difficulties by conditional maximum likelihood (Andersen 1972; Fischer & Molenaar 1995).

    responses: (n_persons, n_items) of 1/0/NaN (NaN: not presented). Items every used person got right (or
    wrong) have no finite CML estimate: an ``EstimationError`` names them.
    """
    x = np.asarray(responses, dtype=float)
    if x.ndim != 2 or x.shape[1] < 2:
        raise InputError(Problem("CML needs a (persons × items) matrix with at least 2 items"))
    bad = ~np.isnan(x) & (x != 0) & (x != 1)
    if bad.any():
        raise InputError(Problem("CML takes dichotomous responses: 1, 0 or missing"))
    k = x.shape[1]
    ids = tuple(item_ids) if item_ids is not None else tuple(f"item{j + 1}" for j in range(k))
    grp = _groups(x)
    if grp.n_used == 0:
        raise EstimationError(Problem("no candidate has a score between zero and perfect: CML has no data"))
    n_seen = grp.masks.T @ grp.counts.sum(axis=1)
    degenerate = [ids[j] for j in range(k) if grp.s[j] == 0 or grp.s[j] == n_seen[j]]
    if degenerate:
        raise EstimationError(Problem(
            "no finite CML difficulty for item(s) " + ", ".join(degenerate)
            + ": among candidates with a score neither zero nor perfect, all answered them right or all wrong"))
    W = _design(k)
    p = np.clip(grp.s / np.maximum(n_seen, 1), 1e-3, 1 - 1e-3)
    b0 = -np.log(p / (1 - p))
    eta0 = (b0 - b0.mean())[:-1]

    def fun(eta):
        ll, g = _log_lik_and_grad(W @ eta, grp)
        return -ll, -(W.T @ g)

    # BFGS started from the inverse of a diagonal information, Σ_i P(1 − P) per item at the starting values
    # (Wᵀ D W in the free parameters): well scaled from the first step, 157 → about 30 iterations at 130 items
    v = np.maximum(n_seen * p * (1 - p), 1e-6)
    start = np.linalg.inv(W.T @ (v[:, None] * W))
    start = (start + start.T) / 2  # symmetric to the last bit, as BFGS checks
    res = optimize.minimize(fun, eta0, jac=True, method="BFGS",
                            options={"gtol": 1e-6, "maxiter": max_iter, "hess_inv0": start})
    eta = res.x
    iterations = int(res.nit)
    newton_done = False
    # Newton polish on the conditional information, taken once where BFGS stopped (a chord method: that
    # close to the maximum the information barely changes, and each evaluation is the costly part); the
    # covariance uses the same matrix
    info = W.T @ _information(W @ eta, grp) @ W
    for _ in range(20):
        _, g = _log_lik_and_grad(W @ eta, grp)
        step = np.linalg.solve(info, W.T @ g)
        eta = eta + step
        iterations += 1
        if np.max(np.abs(step)) < tol:
            newton_done = True
            break
    b = W @ eta
    ll, g = _log_lik_and_grad(b, grp)
    cov_eta = np.linalg.inv(info)
    cov = W @ cov_eta @ W.T
    grad_norm = float(np.max(np.abs(W.T @ g)))
    return CMLCalibration(ids, b, np.sqrt(np.diag(cov)), cov, float(ll), x.shape[0], grp.n_used, k - 1,
                          iterations, bool(newton_done and grad_norm < 1e-6 * grp.n_used),
                          grad_norm)


def conditional_log_likelihood(responses, b) -> float:
    """log L_C(b) of the data at given difficulties (persons with extreme scores contribute 0)."""
    return float(_log_lik_and_grad(np.asarray(b, dtype=float), _groups(np.asarray(responses, dtype=float)))[0])


# ----------------------------------------------------------------------------------------------------------
# Person parameters by raw score

@dataclass(frozen=True)
class ScoreTable:
    """ML θ for each raw score 0..n_items given the difficulties (a person who answered every item)."""

    raw_score: np.ndarray
    theta: np.ndarray
    se: np.ndarray
    bounded: np.ndarray

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame({"raw_score": self.raw_score, "theta": self.theta, "se": self.se,
                             "bounded": self.bounded})


def theta_by_score(b, *, bounds: tuple[float, float] = THETA_BOUNDS, iterations: int = 100) -> ScoreTable:
    """ML θ for each raw score r of a complete response vector: the root of Σ_j P_j(θ) = r, SE 1/√I(θ)
    (Fischer & Molenaar 1995, ch. 3; Lord 1980, eq. 4-5). r = 0 and r = n_items have no finite root: θ is held
    at ``bounds`` and ``bounded`` is True. Newton steps from θ = log(r / (n − r)) + mean(b), safeguarded by
    halving (the score function is monotone, so the root is unique)."""
    b = np.asarray(b, dtype=float)
    k = b.size
    r = np.arange(k + 1, dtype=float)
    inner = r[1:-1]
    theta = np.log(inner / (k - inner)) + b.mean()
    for _ in range(iterations):
        p = 1.0 / (1.0 + np.exp(-(theta[:, None] - b[None, :])))
        f = p.sum(axis=1) - inner
        info = (p * (1 - p)).sum(axis=1)
        step = np.clip(f / info, -1.0, 1.0)
        theta = theta - step
        if np.max(np.abs(step)) < 1e-12:
            break
    p = 1.0 / (1.0 + np.exp(-(theta[:, None] - b[None, :])))
    se_inner = 1.0 / np.sqrt((p * (1 - p)).sum(axis=1))
    th = np.concatenate([[bounds[0]], theta, [bounds[1]]])
    se = np.concatenate([[np.nan], se_inner, [np.nan]])
    bounded = np.zeros(k + 1, dtype=bool)
    bounded[[0, -1]] = True
    return ScoreTable(r.astype(int), th, se, bounded)


# ----------------------------------------------------------------------------------------------------------
# A full calibration: CML difficulties, the candidates' distribution by marginal ML around them

def calibrate_rasch_cml(responses, *, item_ids=None, D: float = 1.0, quadrature=None, min_persons=None,
                        tol: float = 1e-8):
    """A Rasch :class:`~psychometrics.irt.estimation.Calibration` whose difficulties are the CML estimates.

    Two steps (de Leeuw & Verhelst 1986, who show the CML item estimates and a marginal fit of the latent
    distribution given them are consistent together; eRm reports the same difficulties): (1) ``calibrate_cml``
    gives b with Σ b = 0 on the logistic metric and SEs from the conditional information, which assume
    nothing about how θ is distributed; (2) with every item held at b / D, the EM of
    ``estimation.calibrate`` estimates only the latent mean and SD (the candidates' θ ~ N(μ, σ²) on the
    same scale), which EAP scoring, S-X² and M2 need. ``D`` puts the reported a = 1 and b on the D metric
    (b_D = b / D). The log-likelihood and AIC/BIC are the marginal ones at these estimates (k − 1 item
    parameters + μ + σ); calibration.json also carries the conditional log-likelihood.

    responses: (n_persons, n_items) of 1/0/NaN. Raises EstimationError as ``calibrate_cml`` and
    ``calibrate`` do (too few candidates, an item all right or all wrong).
    """
    import dataclasses
    import time

    from psychometrics.irt.em import check_responses
    from psychometrics.irt.estimation import calibrate, check_sample

    started = time.perf_counter()
    if hasattr(responses, "scored") and hasattr(responses, "item_ids"):  # a ResponseMatrix
        item_ids = tuple(responses.item_ids) if item_ids is None else item_ids
        responses = responses.scored
    x = np.asarray(responses, dtype=float)
    ids = tuple(str(i) for i in item_ids) if item_ids is not None else tuple(
        f"item{j + 1}" for j in range(x.shape[1]))
    # the checks every calibration makes (degenerate items, sample size), in its words, before any work
    check_sample(check_responses(x), ids, "rasch", np.zeros(x.shape[1], dtype=bool), min_persons)
    cml = calibrate_cml(x, item_ids=ids, tol=tol)
    b = cml.b / D
    latent = calibrate(x, "rasch", item_ids=ids, D=D, quadrature=quadrature, min_persons=min_persons,
                       anchors={i: (1.0, float(v), 0.0) for i, v in zip(ids, b)})
    warnings = list(latent.warnings)
    if not cml.converged:
        warnings.append(f"The CML estimates did not converge (largest gradient {cml.gradient_norm:.2g}); treat "
                        "them as provisional.")
    return dataclasses.replace(
        latent, b=b, se_b=cml.se_b / D, se_d=cml.se_b.copy(), se_a=np.full(b.size, np.nan),
        fixed=np.zeros(b.size, dtype=bool), n_parameters=cml.n_parameters + 2, iterations=cml.iterations,
        converged=bool(cml.converged and latent.converged), seconds=time.perf_counter() - started,
        warnings=tuple(warnings), se_method="conditional information", estimation="cml",
        details={"cml": {**cml.summary(), "normalization": "sum of b·D = 0 (the logistic metric)"}})
