"""Scoring persons on θ from dichotomous responses and known item parameters.

- EAP (Bock & Mislevy 1982): θ̂ = Σ_k x_k L_i(x_k) π_k / Σ_k L_i(x_k) π_k, posterior SD likewise, on the
  quadrature grid (default 61 nodes on [−6, 6], prior N(0, 1)).
- MAP (Baker & Kim 2004, ch. 7): maximizes log L_i(θ) + log φ((θ − μ)/σ).
- MLE: maximizes log L_i(θ). A zero or perfect score has no finite maximum, nor has a pattern whose
  likelihood still rises at ±``MLE_SEARCH_BOUND`` (±10, e.g. under a 3PL): these θ are set to the bound
  ``THETA_BOUNDS`` (−4 or +4) and ``bounded`` is True. Every other pattern gets its finite maximum, even
  beyond ±4.
- WLE (Warm 1989): the root of S_i(θ) + J_i(θ)/(2 I_i(θ)) = 0, J = Σ P'P''/(PQ). Under the 1PL/2PL that is
  the maximum of log L_i(θ) + ½ log I_i(θ); under a 3PL J ≠ I', so the root is bracketed on the grid by the
  estimating function itself (the maximum of its running integral). Finite for zero and perfect scores under
  the 1PL and 2PL, still clipped to ``THETA_BOUNDS``.
- MLE, WLE and MAP are computed block by block of persons: the grid maximum brackets the root, a parabola
  through it starts Newton's method with analytic derivatives, and each person stops on its own.
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


def _checked_parameters(x, a, b, c):
    """(a, b, c) as arrays, one per response column of ``x`` and all finite (else one InputError)."""
    a, b, c = _as_params(a, b, c)
    if a.size != x.shape[1]:
        raise InputError(Problem(f"{a.size} item parameters for {x.shape[1]} response columns"))
    if not (np.all(np.isfinite(a)) and np.all(np.isfinite(b)) and np.all(np.isfinite(c))):
        raise InputError(Problem("item parameters must all be finite numbers"))
    return a, b, c


def _check_items(responses, a, b, c):
    x = check_responses(responses)
    return (x, *_checked_parameters(x, a, b, c))


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
        prior_mean: float = 0.0, prior_sd: float = 1.0, person_ids=None, missing=None) -> ThetaScores:
    """EAP θ and posterior SD (Bock & Mislevy 1982). A person with no responses gets the prior mean and SD.

    responses: (n_persons, n_items) 1/0/NaN floats, or 0/1 integers or booleans (int8 keeps a million × 120
    matrix at 120 MB) with ``missing``, an optional bool mask of the cells not presented (not reached).
    Persons are scored in blocks of ``_EAP_BLOCK``: memory does not grow with the number of persons beyond the
    results. Within a block the layout is node-major, L (n_nodes, block) = A (n_nodes, n_items) @ Y1ᵀ, so the
    per-person maximum and the moments are reductions over 61 contiguous rows rather than along short rows.
    """
    if b is None:
        raise InputError(Problem("difficulties b are required"))
    with blas_threads(1):
        return _eap(responses, a, b, c, D, quadrature, prior_mean, prior_sd, person_ids, missing)


#: Persons per EAP block: the (61 nodes × block) float32 posterior is 4 MB and stays in cache.
_EAP_BLOCK = 16384


def _block_split(x, missing, sl):
    """Y1 (right, missing → 0) and M (answered), float32, of the rows ``sl``; M None when none is missing."""
    right = np.array(x[sl], dtype=np.float32)
    if x.dtype.kind == "f":
        miss = np.isnan(right)
        if missing is not None:
            miss |= missing[sl]
    else:
        miss = None if missing is None else np.asarray(missing[sl], dtype=bool)
    if miss is not None and miss.any():
        right[miss] = 0
        return right, (~miss).astype(np.float32)
    return right, None


def _eap(responses, a, b, c, D, quadrature, prior_mean, prior_sd, person_ids, missing=None) -> ThetaScores:
    a, b, c = _as_params(a, b, c)
    x = np.asarray(responses)
    if x.dtype.kind not in "biuf":
        x = np.asarray(x, dtype=float)
    if x.ndim != 2 or x.shape[1] != a.size:
        raise InputError(Problem(f"responses must be persons × {a.size} items, got shape {x.shape}"))
    if missing is not None:
        missing = np.asarray(missing, dtype=bool)
        if missing.shape != x.shape:
            raise InputError(Problem(f"the missing mask has shape {missing.shape}, the responses {x.shape}"))
    quad = quadrature or make_quadrature()
    nodes, log_prior = quad.log_grid_for(prior_mean, prior_sd)
    p = np.clip(probability(nodes, a, b, c, D), _P_FLOOR, 1 - _P_FLOOR)   # (n_nodes, n_items)
    log_q = np.log1p(-p)
    # one extra row of ones: the raw score comes out of the same matrix product
    coef = np.vstack([np.log(p) - log_q, np.ones((1, a.size))]).astype(np.float32)
    log_q32 = log_q.astype(np.float32)
    full_const = (log_q.sum(axis=1) + log_prior).astype(np.float32)[:, None]
    prior32 = log_prior.astype(np.float32)[:, None]
    powers = np.stack([np.ones_like(nodes), nodes, nodes * nodes]).astype(np.float32)
    n = x.shape[0]
    theta, var, raw = np.empty(n), np.empty(n), np.empty(n)
    n_answered = np.full(n, a.size, dtype=int)
    for start in range(0, n, _EAP_BLOCK):
        sl = slice(start, min(start + _EAP_BLOCK, n))
        right, answered = _block_split(x, missing, sl)
        _fast_binary_check(right)
        post = coef @ right.T                                              # (n_nodes + 1, block)
        raw[sl] = post[-1]
        post = post[:-1]
        if answered is None:
            post += full_const
        else:
            post += log_q32 @ answered.T
            post += prior32
            n_answered[sl] = answered.sum(axis=1, dtype=float).astype(int)
        post -= post.max(axis=0)
        np.exp(post, out=post)
        moments = (powers @ post).astype(float)
        theta[sl] = moments[1] / moments[0]
        var[sl] = np.maximum(moments[2] / moments[0] - theta[sl] ** 2, 0.0)
    return ThetaScores("eap", theta, np.sqrt(var), n_answered, raw, np.zeros(n, dtype=bool), _ids(person_ids, n))


def _ids(person_ids, n):
    if person_ids is None:
        return None
    ids = np.asarray(person_ids)
    if ids.size != n:
        raise InputError(Problem(f"{ids.size} person ids for {n} response rows"))
    return ids


#: Persons per block in MLE/WLE/MAP: every persons × items temporary is this many rows (≈ 4 MB at 120 items),
#: so memory does not grow with the number of persons and the passes stay in cache.
_BLOCK = 4096
#: Newton stops for a person once its step is below this (the next error is of the order of its square).
_STEP_TOL = 1e-9


def _cell_terms(theta, y, m, alpha, beta, c, method, need_info_only=False):
    """Per person: the score function g(θ) of ``method`` and its analytic derivative g'(θ), and I(θ).

    y, m: (n, n_items) float64, y already 0 where m is 0 (m None: nothing missing). With s the logistic
    of α(θ − b), v = s(1 − s), p = c + (1 − c)s: P' = (1 − c)αv, P'' = P'α(1 − 2s), P''' = P'α²(1 − 6v);
    w = P'/(PQ) = αs/P and w' = α²vc/P². MLE: g = Σ m(y − P)w, g' = −I + Σ m(y − P)w', I = Σ m P'w.
    WLE adds J/(2I), J = Σ m wP'' (Warm 1989), with I' = Σ m(P''w + P'w') and J' = Σ m(w'P'' + wP''').
    Under the 1PL/2PL (c = 0) w = α and w' = 0, so everything is a matrix product with powers of α.
    """
    s = np.multiply.outer(theta, -alpha)
    s += beta                       # −α(θ − b)
    np.exp(s, out=s)
    s += 1.0
    np.reciprocal(s, out=s)         # s = logistic(α(θ − b))
    if c is None:
        if m is not None:
            s *= m                  # masked cells contribute nothing below
        v = s * s
        np.subtract(s, v, out=v)    # v = s(1 − s), masked
        if need_info_only:
            return None, None, v @ (alpha * alpha)
        if method != "wle":
            ps = s @ alpha
            info = v @ (alpha * alpha)
            return -ps, -info, info      # caller adds Σ yα
        a2 = alpha * alpha
        powers = np.column_stack([a2, a2 * alpha, a2 * a2])      # α², α³, α⁴
        t1 = v @ powers                                         # Σ vα², Σ vα³, Σ vα⁴
        vs = v * s
        j = t1[:, 1] - 2.0 * (vs @ powers[:, 1])                # Σ α³v(1 − 2s)
        np.multiply(v, v, out=vs)
        jp = t1[:, 2] - 6.0 * (vs @ powers[:, 2])               # Σ α⁴v(1 − 6v)
        info = t1[:, 0]
        ps = s @ alpha
        safe = np.maximum(info, 1e-300)
        g = -ps + j / (2.0 * safe)
        slope = -info + (jp * info - j * j) / (2.0 * safe * safe)   # I' = J under c = 0
        return g, slope, info
    u = 1.0 - c
    np.maximum(s, 1e-300, out=s)
    v = s * (1.0 - s)
    p = c + u * s
    w = alpha * s / p
    dp = (u * alpha) * v
    mm = 1.0 if m is None else m
    info_cells = dp * w
    if m is not None:
        info_cells *= m
    info = info_cells.sum(axis=1)
    if need_info_only:
        return None, None, info
    r = (y - p) * mm
    dw = (alpha * alpha * c) * v / (p * p)
    g = (r * w).sum(axis=1)
    slope = -info + (r * dw).sum(axis=1)
    if method == "wle":
        d2p = dp * alpha * (1.0 - 2.0 * s)
        d3p = dp * (alpha * alpha) * (1.0 - 6.0 * v)
        j = (mm * w * d2p).sum(axis=1)
        ip = (mm * (d2p * w + dp * dw)).sum(axis=1)
        jp = (mm * (dw * d2p + w * d3p)).sum(axis=1)
        safe = np.maximum(info, 1e-300)
        g = g + j / (2.0 * safe)
        slope = slope + (jp * info - j * ip) / (2.0 * safe * safe)
    return g, slope, info


def _point_estimate(*args, **kwargs):
    with blas_threads(1):
        return _point_estimate_body(*args, **kwargs)


def _responses_array(responses) -> np.ndarray:
    x = np.asarray(responses)
    if x.dtype.kind not in "biuf":
        x = np.asarray(x, dtype=float)
    if x.ndim != 2:
        raise InputError(Problem(f"responses must be a table of persons × items, got {x.ndim} dimension(s)"))
    return x


def _point_estimate_body(method, responses, a, b, c, D, prior_mean, prior_sd, person_ids, iterations=50):
    """MLE / WLE / MAP θ, block by block of ``_BLOCK`` persons (see ``_solve_block``)."""
    x = _responses_array(responses)
    a, b, c = _checked_parameters(x, a, b, c)
    n = x.shape[0]
    out = {k: np.empty(n) for k in ("theta", "se", "n_answered", "raw")}
    bounded = np.zeros(n, dtype=bool)
    grid_p = np.clip(probability(_SEARCH_GRID, a, b, c, D), _P_FLOOR, 1 - _P_FLOOR)   # (n_grid, n_items)
    extra = None
    if method == "wle":
        dp = D * a * (grid_p - c) * (1 - grid_p) / (1 - c)
        w = dp / (grid_p * (1 - grid_p))                                                # P'/(PQ)
        s_grid = (grid_p - c) / (1 - c)
        # (n_items, n_grid) tables: I_j, and under a 3PL the terms of Warm's estimating function on the grid
        extra = {"info": (dp * w).T.astype(np.float32)}
        if np.any(c != 0):
            extra.update(w=w.T.copy(), pw=(grid_p * w).T.copy(), j=(w * dp * D * a * (1 - 2 * s_grid)).T.copy(),
                         info64=(dp * w).T.copy())
    for start in range(0, n, _BLOCK):
        sl = slice(start, min(start + _BLOCK, n))
        _solve_block(method, x, x[sl], a, b, c, D, prior_mean, prior_sd, iterations, extra,
                     {k: v[sl] for k, v in out.items()}, bounded[sl])
    return ThetaScores(method, out["theta"], out["se"], out["n_answered"].astype(int), out["raw"], bounded,
                       _ids(person_ids, n))


def _solve_block(method, x_all, xb, a, b, c, D, prior_mean, prior_sd, iterations, wle_info_grid, out, bounded):
    """Grid maximum (bracket ± one grid step), a parabola through it as the start, then safeguarded Newton
    (Press et al. 2007, rtsafe) with analytic derivatives, each person stopping when its step is below
    ``_STEP_TOL``; SEs from the information at the final θ. Writes into ``out`` and ``bounded``."""
    y = np.array(xb, dtype=float)            # a block copy: (block, n_items) float64
    missing = np.isnan(y)
    m = None
    if missing.any():
        y[missing] = 0.0
        m = (~missing).astype(float)
    if not np.all((y == 0) | (y == 1)):
        check_responses(x_all)               # names the first bad cell
        raise InputError(Problem("responses must be 0, 1 or blank"))
    y32 = y.astype(np.float32)
    m32 = None if m is None else m.astype(np.float32)
    raw = y.sum(axis=1)
    n_ans = np.full(y.shape[0], float(y.shape[1])) if m is None else m.sum(axis=1)
    grid = _SEARCH_GRID
    if method == "wle" and "w" in wle_info_grid:
        # 3PL: Warm's J/(2I) is not the derivative of ½ log I, so the bracket comes from the estimating
        # function itself on the grid (four matrix products) and its running integral (trapezoids): the
        # maximum of that integral sits at a + → − change of sign within one grid step
        t = wle_info_grid
        sums = (lambda table: np.broadcast_to(table.sum(axis=0), (y.shape[0], grid.size))) if m is None \
            else (lambda table: m @ table)
        g_grid = y @ t["w"] - sums(t["pw"]) + sums(t["j"]) / (2 * np.maximum(sums(t["info64"]), 1e-300))
        objective = np.zeros_like(g_grid)
        np.cumsum(0.5 * (grid[1] - grid[0]) * (g_grid[:, 1:] + g_grid[:, :-1]), axis=1, out=objective[:, 1:])
    else:
        objective = _grid_loglik(y32, m32, a, b, c, D, grid)      # (block, n_grid) float32
    if method == "wle" and "w" not in wle_info_grid:
        info = (np.broadcast_to(wle_info_grid["info"].sum(axis=0), objective.shape) if m32 is None
                else m32 @ wle_info_grid["info"])
        objective += 0.5 * np.log(np.maximum(info, 1e-30))
    elif method == "map":
        objective += (-0.5 * ((grid - prior_mean) / prior_sd) ** 2).astype(np.float32)
    k = objective.argmax(axis=1)
    step = grid[1] - grid[0]
    theta = grid[k]
    at_edge = (k == 0) | (k == grid.size - 1)
    edge_value = grid[k].copy()
    # parabola through the grid maximum and its neighbours: a start within ~1e-4 of the root
    inner = np.flatnonzero(~at_edge)
    rows = np.arange(objective.shape[0])[inner]
    f0 = objective[rows, k[inner]].astype(float)
    fm = objective[rows, k[inner] - 1].astype(float)
    fp = objective[rows, k[inner] + 1].astype(float)
    curv = fp - 2 * f0 + fm
    with np.errstate(divide="ignore", invalid="ignore"):
        shift = np.where(curv < 0, 0.5 * step * (fm - fp) / curv, 0.0)
    theta[inner] += np.clip(shift, -0.5 * step, 0.5 * step)
    lo = np.maximum(grid[k] - step, THETA_BOUNDS[0])
    hi = np.minimum(grid[k] + step, THETA_BOUNDS[1])
    del objective
    if method == "mle":
        # a pattern that is neither zero nor perfect may have its finite maximum beyond ±4 (SAT12, Rasch,
        # raw 31 of 32: 4.292): search it on the wide grid; only what peaks at its edge has no finite MLE
        wide = np.flatnonzero(at_edge & (raw > 0) & (raw < n_ans))
        if wide.size:
            sub_ans = None if m32 is None else m32[wide]
            kw = _grid_loglik(y32[wide], sub_ans, a, b, c, D, _WIDE_GRID).argmax(axis=1)
            theta[wide] = _WIDE_GRID[kw]
            lo[wide] = np.maximum(theta[wide] - step, _WIDE_GRID[0])
            hi[wide] = np.minimum(theta[wide] + step, _WIDE_GRID[-1])
            at_edge[wide] = (kw == 0) | (kw == _WIDE_GRID.size - 1)
            edge_value[wide] = np.where(kw == 0, THETA_BOUNDS[0], THETA_BOUNDS[1])
    alpha = D * a
    beta = alpha * b
    cc = None if not np.any(c != 0) else c
    ya = y @ alpha if cc is None else None
    active = np.flatnonzero(~at_edge)
    for _ in range(iterations):
        if active.size == 0:
            break
        full = active.size == y.shape[0]
        t = theta[active]
        ys = y if full else y[active]
        ms = m if (m is None or full) else m[active]
        g, slope, _ = _cell_terms(t, ys, ms, alpha, beta, cc, method)
        if cc is None:
            g = g + (ya if full else ya[active])
        if method == "map":
            g = g - (t - prior_mean) / prior_sd ** 2
            slope = slope - 1.0 / prior_sd ** 2
        l, h = lo[active], hi[active]
        l = np.where(g > 0, np.maximum(l, t), l)
        h = np.where(g < 0, np.minimum(h, t), h)
        with np.errstate(divide="ignore", invalid="ignore"):
            newton = t - g / slope
        ok = (slope < 0) & (newton > l) & (newton < h)
        new = np.where(ok, newton, 0.5 * (l + h))
        lo[active], hi[active], theta[active] = l, h, new
        moved = np.abs(new - t)
        active = active[(moved > _STEP_TOL) | ~ok]
    theta = np.where(at_edge, edge_value, theta)
    _, _, info = _cell_terms(theta, y, m, alpha, beta, cc, method, need_info_only=True)
    if method == "map":
        info = info + 1.0 / prior_sd ** 2
    with np.errstate(divide="ignore"):
        se = 1.0 / np.sqrt(info)
    no_data = n_ans == 0
    if no_data.any() and method != "map":
        theta = np.where(no_data, np.nan, theta)
        se = np.where(no_data, np.nan, se)
    out["theta"][:] = theta
    out["se"][:] = se
    out["n_answered"][:] = n_ans
    out["raw"][:] = raw
    bounded[:] = at_edge & (method != "map") | (at_edge & no_data)


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
