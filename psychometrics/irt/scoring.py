"""Scoring persons on θ from dichotomous responses and known item parameters.

- EAP (Bock & Mislevy 1982): θ̂ = Σ_k x_k L_i(x_k) π_k / Σ_k L_i(x_k) π_k, posterior SD likewise, on the
  quadrature grid (default 61 nodes on [−6, 6], prior N(0, 1)).
- MAP (Baker & Kim 2004, ch. 7): maximizes log L_i(θ) + log φ((θ − μ)/σ).
- MLE: maximizes log L_i(θ). A zero or perfect score has no finite maximum, nor has a pattern whose
  likelihood still rises at ±``MLE_SEARCH_BOUND`` (±10, e.g. under a 3PL): these θ are set to the bound
  ``THETA_BOUNDS`` (−4 or +4) and ``bounded`` is True. Every other pattern gets its finite maximum, even
  beyond ±4.
- WLE (Warm 1989): maximizes log L_i(θ) + ½ log I_i(θ); finite for zero and perfect scores under the 1PL and
  2PL, still clipped to ``THETA_BOUNDS``.
  SEs: MLE and WLE 1/√I_i(θ̂); MAP 1/√(I_i(θ̂) + 1/σ²); EAP the posterior SD.
- Summed-score EAP table by the Lord–Wingersky (1984) recursion.
- Raw score → θ by inverting the test characteristic curve (Kolen & Brennan 2014, sec. 6.4).

Shapes: responses (n_persons, n_items) of 1/0/NaN (NaN: not presented, skipped); item parameters (n_items,).
The likelihood on a grid is two matrix products (Y1 @ (log P − log Q)ᵀ + M @ (log Q)ᵀ), in float32.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from certbank_core.errors import InputError, Problem
from psychometrics.irt.estimation import check_responses
from psychometrics.irt.models import D_LOGISTIC, _as_params, probability, test_characteristic_curve
from psychometrics.irt._threads import blas_threads
from psychometrics.irt.quadrature import Quadrature, make_quadrature

#: Finite bounds of MLE/WLE/MAP and of TCC inversion: zero and perfect scores land here.
THETA_BOUNDS = (-4.0, 4.0)
#: The grid that brackets the maximum before Newton refinement (step 0.05).
_SEARCH_GRID = np.linspace(THETA_BOUNDS[0], THETA_BOUNDS[1], 161)
#: MLE of a pattern that is neither zero nor perfect is searched on [−10, 10] (step 0.05): what still peaks
#: at an end of this grid has no finite maximum and is held at ``THETA_BOUNDS``.
MLE_SEARCH_BOUND = 10.0
_WIDE_GRID = np.linspace(-MLE_SEARCH_BOUND, MLE_SEARCH_BOUND, 401)
_P_FLOOR = 1e-10
METHODS = ("eap", "map", "mle", "wle")


@dataclass(frozen=True)
class ThetaScores:
    """θ estimates. Arrays (n_persons,). ``bounded`` marks estimates held at ``THETA_BOUNDS``."""

    method: str
    theta: np.ndarray
    se: np.ndarray
    n_answered: np.ndarray
    raw_score: np.ndarray
    bounded: np.ndarray
    person_ids: np.ndarray | None = None

    def to_frame(self) -> pd.DataFrame:
        ids = self.person_ids if self.person_ids is not None else np.arange(1, self.theta.size + 1)
        return pd.DataFrame({"person_id": ids, "raw_score": self.raw_score, "n_answered": self.n_answered,
                             "theta": self.theta, "se": self.se, "bounded": self.bounded, "method": self.method})


def _split(responses, dtype=np.float32):
    """Y1 (right, NaN → 0) and M (answered) in dtype, or M = None when nothing is missing."""
    right = np.array(responses, dtype=dtype, copy=True)
    missing = np.isnan(right)
    if missing.any():
        right[missing] = 0
        return right, (~missing).astype(dtype)
    return right, None


def _grid_loglik(right, answered, a, b, c, D, grid, dtype=np.float32) -> np.ndarray:
    """log L_i(θ_g) for every person and grid point: (n_persons, n_grid)."""
    p = np.clip(probability(grid, a, b, c, D), _P_FLOOR, 1 - _P_FLOOR)   # (n_grid, n_items)
    log_q = np.log1p(-p)
    logl = right @ (np.log(p) - log_q).T.astype(dtype)
    if answered is None:
        logl += log_q.sum(axis=1).astype(dtype)[None, :]
    else:
        logl += answered @ log_q.T.astype(dtype)
    return logl


def _check_items(responses, a, b, c):
    x = check_responses(responses)
    a, b, c = _as_params(a, b, c)
    if a.size != x.shape[1]:
        raise InputError(Problem(f"{a.size} item parameters for {x.shape[1]} response columns"))
    if not (np.all(np.isfinite(a)) and np.all(np.isfinite(b)) and np.all(np.isfinite(c))):
        raise InputError(Problem("item parameters must all be finite numbers"))
    return x, a, b, c


def _fast_binary_check(right: np.ndarray) -> None:
    """Raise InputError unless every cell of float32 ``right`` (NaN already zeroed) is 0 or 1.

    With min ≥ 0 and max ≤ 1, Σ r(1 − r) = Σ r − Σ r² is a sum of non-negative terms: it is 0 only if every
    cell is 0 or 1. Three BLAS-speed passes instead of an elementwise comparison.
    """
    flat = right.ravel()
    if flat.size == 0:
        return
    ok = flat.min() >= 0 and flat.max() <= 1
    if ok and flat.size < 2 ** 24:  # float32 sums of 0/1 are exact below 2^24
        ok = float(np.dot(flat, flat)) == float(flat.sum(dtype=np.float64))
    elif ok:
        ok = bool(np.all((flat == 0) | (flat == 1)))
    if not ok:
        check_responses(right)  # finds and reports the first bad cell
        raise InputError(Problem("responses must be 0, 1 or blank"))


def eap(responses, a, b=None, c=None, *, D: float = D_LOGISTIC, quadrature: Quadrature | None = None,
        prior_mean: float = 0.0, prior_sd: float = 1.0, person_ids=None) -> ThetaScores:
    """EAP θ and posterior SD (Bock & Mislevy 1982). A person with no responses gets the prior mean and SD.

    Laid out node-major, L (n_nodes, n_persons) = A (n_nodes, n_items) @ Y1ᵀ, so the per-person maximum and
    the moments are reductions over 61 contiguous rows (fast) rather than along short rows.
    """
    if b is None:
        raise InputError(Problem("difficulties b are required"))
    with blas_threads(1):
        return _eap(responses, a, b, c, D, quadrature, prior_mean, prior_sd, person_ids)


def _eap(responses, a, b, c, D, quadrature, prior_mean, prior_sd, person_ids) -> ThetaScores:
    a, b, c = _as_params(a, b, c)
    right, answered = _split(responses)
    if right.ndim != 2 or right.shape[1] != a.size:
        raise InputError(Problem(f"responses must be persons × {a.size} items, got shape {right.shape}"))
    _fast_binary_check(right)
    quad = quadrature or make_quadrature()
    nodes, log_prior = quad.log_grid_for(prior_mean, prior_sd)
    p = np.clip(probability(nodes, a, b, c, D), _P_FLOOR, 1 - _P_FLOOR)   # (n_nodes, n_items)
    log_q = np.log1p(-p)
    # one extra row of ones: the raw score comes out of the same matrix product
    coef = np.vstack([np.log(p) - log_q, np.ones((1, a.size))]).astype(np.float32)
    post = coef @ right.T                                                  # (n_nodes + 1, n_persons)
    raw = post[-1].astype(float)
    post = post[:-1]
    if answered is None:
        post += (log_q.sum(axis=1) + log_prior).astype(np.float32)[:, None]
        n_answered = np.full(right.shape[0], a.size)
    else:
        post += log_q.astype(np.float32) @ answered.T
        post += log_prior.astype(np.float32)[:, None]
        n_answered = answered.sum(axis=1, dtype=float).astype(int)
    post -= post.max(axis=0)
    np.exp(post, out=post)
    moments = (np.stack([np.ones_like(nodes), nodes, nodes * nodes]).astype(np.float32) @ post).astype(float)
    theta = moments[1] / moments[0]
    var = np.maximum(moments[2] / moments[0] - theta * theta, 0.0)
    return ThetaScores("eap", theta, np.sqrt(var), n_answered, raw,
                       np.zeros(right.shape[0], dtype=bool), _ids(person_ids, right.shape[0]))


def _ids(person_ids, n):
    if person_ids is None:
        return None
    ids = np.asarray(person_ids)
    if ids.size != n:
        raise InputError(Problem(f"{ids.size} person ids for {n} response rows"))
    return ids


def _score_terms(theta, y, m, a, b, c, D):
    """Per-person first derivative of log L, test information I_i(θ) and Σ P'P''/(PQ) (for WLE)."""
    alpha = D * a
    s = 1.0 / (1.0 + np.exp(-alpha[None, :] * (theta[:, None] - b[None, :])))
    p = np.clip(c + (1 - c) * s, _P_FLOOR, 1 - _P_FLOOR)
    q = 1.0 - p
    dp = (1 - c) * alpha * s * (1 - s)
    d2p = dp * alpha * (1 - 2 * s)
    pq = p * q
    grad = (m * (y - p) * dp / pq).sum(axis=1)
    info = (m * dp * dp / pq).sum(axis=1)
    j = (m * dp * d2p / pq).sum(axis=1)
    return grad, info, j


def _point_estimate(*args, **kwargs):
    with blas_threads(1):
        return _point_estimate_body(*args, **kwargs)


def _point_estimate_body(method, responses, a, b, c, D, prior_mean, prior_sd, person_ids, iterations=20):
    x, a, b, c = _check_items(responses, a, b, c)
    right, answered = _split(x)
    m = np.ones_like(x) if answered is None else answered.astype(float)
    y = right.astype(float)
    grid = _SEARCH_GRID
    objective = _grid_loglik(right, answered, a, b, c, D, grid).astype(float)
    if method in ("wle", "map"):
        p = np.clip(probability(grid, a, b, c, D), _P_FLOOR, 1 - _P_FLOOR)
        dp = D * a * (p - c) * (1 - p) / (1 - c)
        info_items = dp * dp / (p * (1 - p))                     # (n_grid, n_items)
        if method == "wle":
            info = m @ info_items.T
            objective += 0.5 * np.log(np.maximum(info, 1e-300))
        else:
            objective += -0.5 * ((grid - prior_mean) / prior_sd) ** 2
    k = objective.argmax(axis=1)
    theta = grid[k]
    step = grid[1] - grid[0]
    lo = np.maximum(theta - step, THETA_BOUNDS[0])
    hi = np.minimum(theta + step, THETA_BOUNDS[1])
    at_edge = (k == 0) | (k == grid.size - 1)
    edge_value = grid[k]
    if method == "mle":
        # a pattern that is neither zero nor perfect may have its finite maximum beyond ±4 (SAT12, Rasch,
        # raw 31 of 32: 4.292): search it on the wide grid; only what peaks at its edge has no finite MLE
        raw, n_ans = y.sum(axis=1), m.sum(axis=1)
        wide = np.flatnonzero(at_edge & (raw > 0) & (raw < n_ans))
        if wide.size:
            sub_ans = None if answered is None else answered[wide]
            kw = _grid_loglik(right[wide], sub_ans, a, b, c, D, _WIDE_GRID).astype(float).argmax(axis=1)
            theta[wide] = _WIDE_GRID[kw]
            lo[wide] = np.maximum(theta[wide] - step, _WIDE_GRID[0])
            hi[wide] = np.minimum(theta[wide] + step, _WIDE_GRID[-1])
            at_edge[wide] = (kw == 0) | (kw == _WIDE_GRID.size - 1)
            edge_value[wide] = np.where(kw == 0, THETA_BOUNDS[0], THETA_BOUNDS[1])

    def derivative(t):
        g, info, j = _score_terms(t, y, m, a, b, c, D)
        if method == "wle":
            g = g + j / (2 * np.maximum(info, 1e-300))
        elif method == "map":
            g = g - (t - prior_mean) / prior_sd ** 2
        return g

    # Safeguarded Newton on the score equation inside the bracket around the grid maximum (Press et al. 2007,
    # rtsafe): bisect whenever the Newton step leaves the bracket.
    h = 1e-4
    for _ in range(iterations):
        g = derivative(theta)
        slope = (derivative(theta + h) - derivative(theta - h)) / (2 * h)
        lo = np.where(g > 0, np.maximum(lo, theta), lo)
        hi = np.where(g < 0, np.minimum(hi, theta), hi)
        with np.errstate(divide="ignore", invalid="ignore"):
            newton = theta - g / slope
        ok = (slope < 0) & (newton > lo) & (newton < hi)
        theta = np.where(ok, newton, 0.5 * (lo + hi))
    theta = np.where(at_edge, edge_value, theta)
    _, info, _ = _score_terms(theta, y, m, a, b, c, D)
    if method == "map":
        info = info + 1.0 / prior_sd ** 2
    with np.errstate(divide="ignore"):
        se = 1.0 / np.sqrt(info)
    n_answered = m.sum(axis=1)
    bounded = at_edge & (method != "map")
    no_data = n_answered == 0
    if no_data.any() and method != "map":
        theta = np.where(no_data, np.nan, theta)
        se = np.where(no_data, np.nan, se)
    return ThetaScores(method, theta, se, n_answered.astype(int), y.sum(axis=1), bounded | (at_edge & no_data),
                       _ids(person_ids, x.shape[0]))


def mle(responses, a, b=None, c=None, *, D: float = D_LOGISTIC, person_ids=None) -> ThetaScores:
    """Maximum-likelihood θ; zero/perfect scores and patterns without a finite maximum on [−10, 10] are held
    at THETA_BOUNDS (``bounded`` True), every other pattern gets its maximum, beyond ±4 too.

    A person with no responses has no likelihood: θ and SE are NaN (stated in ``n_answered`` = 0)."""
    return _point_estimate("mle", responses, a, b, c, D, 0.0, 1.0, person_ids)


def wle(responses, a, b=None, c=None, *, D: float = D_LOGISTIC, person_ids=None) -> ThetaScores:
    """Warm's (1989) weighted-likelihood θ: root of S(θ) + J(θ)/(2 I(θ)) = 0, J = Σ P'P''/(PQ)."""
    return _point_estimate("wle", responses, a, b, c, D, 0.0, 1.0, person_ids)


def map_estimate(responses, a, b=None, c=None, *, D: float = D_LOGISTIC, prior_mean: float = 0.0,
                 prior_sd: float = 1.0, person_ids=None) -> ThetaScores:
    """Posterior mode of θ under a N(prior_mean, prior_sd²) prior (Baker & Kim 2004, ch. 7)."""
    return _point_estimate("map", responses, a, b, c, D, prior_mean, prior_sd, person_ids)


def score(responses, a, b, c=None, *, method: str = "eap", D: float = D_LOGISTIC, person_ids=None,
          **options) -> ThetaScores:
    """Dispatch to eap / map / mle / wle."""
    method = method.lower()
    if method == "eap":
        return eap(responses, a, b, c, D=D, person_ids=person_ids, **options)
    if method == "map":
        return map_estimate(responses, a, b, c, D=D, person_ids=person_ids, **options)
    if method == "mle":
        return mle(responses, a, b, c, D=D, person_ids=person_ids)
    if method == "wle":
        return wle(responses, a, b, c, D=D, person_ids=person_ids)
    raise InputError(Problem(f"unknown scoring method {method!r}; choose one of {', '.join(METHODS)}"))


def lord_wingersky(a, b, c=None, *, D: float = D_LOGISTIC, theta=None) -> np.ndarray:
    """P(summed score = s | θ) for s = 0..n_items at each θ, by the Lord–Wingersky (1984) recursion.

    f_1(0) = Q_1, f_1(1) = P_1; f_j(s) = f_{j−1}(s) Q_j + f_{j−1}(s − 1) P_j.
    theta: (n_theta,). Returns (n_items + 1, n_theta).
    """
    theta = make_quadrature().nodes if theta is None else np.atleast_1d(np.asarray(theta, dtype=float))
    p = probability(theta, a, b, c, D)          # (n_theta, n_items)
    n_items = p.shape[1]
    f = np.zeros((n_items + 1, theta.size))
    f[0] = 1.0
    for j in range(n_items):
        pj = p[:, j]
        f[1:j + 2] = f[1:j + 2] * (1 - pj) + f[0:j + 1] * pj
        f[0] = f[0] * (1 - pj)
    return f


@dataclass(frozen=True)
class SummedScoreTable:
    """EAP[θ | summed score] table (Thissen et al. 1995). Arrays (n_items + 1,)."""

    raw_score: np.ndarray
    theta: np.ndarray
    sd: np.ndarray
    expected_proportion: np.ndarray

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame({"raw_score": self.raw_score, "theta_eap": self.theta, "posterior_sd": self.sd,
                             "expected_proportion": self.expected_proportion})


def summed_score_eap(a, b, c=None, *, D: float = D_LOGISTIC, quadrature: Quadrature | None = None,
                     prior_mean: float = 0.0, prior_sd: float = 1.0) -> SummedScoreTable:
    """EAP θ for each summed score s: Σ_k x_k f(s|x_k) π_k / Σ_k f(s|x_k) π_k (Thissen et al. 1995)."""
    quad = quadrature or make_quadrature()
    x, w = quad.grid_for(prior_mean, prior_sd)
    f = lord_wingersky(a, b, c, D=D, theta=x) * w[None, :]
    total = f.sum(axis=1)
    theta = f @ x / total
    sd = np.sqrt(np.maximum(f @ (x * x) / total - theta ** 2, 0.0))
    return SummedScoreTable(np.arange(f.shape[0]), theta, sd, total / total.sum())


def theta_from_raw_score(raw_scores, a, b, c=None, *, D: float = D_LOGISTIC,
                         bounds: tuple[float, float] = THETA_BOUNDS) -> np.ndarray:
    """θ whose test characteristic curve equals each raw (or true) score (Lord 1980, eq. 4-5; Kolen & Brennan
    2014, sec. 6.4). The one TCC inversion of certbank: reported θ, cut placement and IRT equating use it.

    TCC(θ) = Σ_j P_j(θ) rises from Σ c_j to n_items, so a score at or below Σ c_j (including zero) has no θ:
    the rule here gives it bounds[0]; a perfect score gives bounds[1]. Scores in between are solved by
    bisection (60 halvings of the bounds, precision < 1e-15 logits), clipped to the bounds. Reported θ uses
    ±4 (``THETA_BOUNDS``); equating and cut placement pass wider bounds so extreme scores keep their exact θ.
    raw_scores: (n,) (need not be whole numbers). Returns (n,).
    """
    a, b, c = _as_params(a, b, c)
    s = np.atleast_1d(np.asarray(raw_scores, dtype=float))
    lo = np.full(s.shape, float(bounds[0]))
    hi = np.full(s.shape, float(bounds[1]))
    for _ in range(60):
        mid = 0.5 * (lo + hi)
        below = test_characteristic_curve(mid, a, b, c, D) < s
        lo = np.where(below, mid, lo)
        hi = np.where(below, hi, mid)
    theta = 0.5 * (lo + hi)
    theta = np.where(s <= c.sum(), bounds[0], theta)
    return np.where(s >= a.size, bounds[1], theta)
