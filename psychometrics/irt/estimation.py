"""Marginal maximum likelihood (Bock–Aitkin EM) calibration of dichotomous IRT models.

Models (``model=``):

- ``rasch``: every slope fixed at 1 (on the D metric), item difficulties free, latent θ ~ N(0, σ²) with σ
  estimated (the R mirt/TAM convention).
- ``1pl``: one common slope for all items, θ ~ N(0, 1) (the ltm convention).
- ``2pl``: a slope and a difficulty per item, θ ~ N(0, 1).
- ``3pl``: adds a lower asymptote c with a Beta(5, 17) prior by default (MAP for c; Harwell & Baker 1991
  discuss such priors); an optional lognormal prior on slopes.

Inside, items use the slope–intercept form z = α θ + d, P = c + (1 − c) σ(z), c = logistic(γ)
(``models.to_intercept``: α = D a, d = −D a b).

The EM (Bock & Aitkin 1981) alternates
  E-step: posterior weights of each person at each node,
      log L_ik = Σ_j [y_ij log P_j(x_k) + (1 − y_ij) log Q_j(x_k)] over the items person i answered,
      w_ik = L_ik π_k / Σ_k' L_ik' π_k'
    computed as two matrix products, Y1 @ (log P − log Q)ᵀ + M @ (log Q)ᵀ (Y1: right answers, M: answered).
  M-step: expected counts r_jk = Σ_i y_ij w_ik (right) and n_jk = Σ_i m_ij w_ik (answered) at each node,
    then per item a few Fisher-scoring steps on Σ_k r_jk log P_jk + (n_jk − r_jk) log Q_jk + log prior.
When the latent mean or SD is free (Rasch, fixed-anchor calibration) they are updated from the posterior
moments of θ (Bock & Aitkin 1981, section 4; Mislevy 1984).

The EM map is accelerated by SQUAREM (Varadhan & Roland 2008, scheme S3) with a monotonicity safeguard on
the log posterior. Convergence: the largest change of any internal parameter over one EM cycle < ``tol``
and the change in log-likelihood < ``ll_tol``.

Standard errors: the inverse of the observed information approximated by the cross-product of the persons'
score vectors (XPD; each person's score is exact by Fisher's identity, Louis 1982; mirt's "crossprod"),
plus the curvature of the priors, carried to a, b, c by the delta method.

Missing responses (NaN: not presented, not reached) are skipped in the likelihood.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Mapping, Sequence

import numpy as np
import pandas as pd

from itembank.errors import EstimationError, InputError, Problem
from psychometrics.irt.models import D_LOGISTIC
from psychometrics.irt._threads import blas_threads
from psychometrics.irt.quadrature import Quadrature, make_quadrature

MODELS = ("rasch", "1pl", "2pl", "3pl")
#: The fewest persons we calibrate each model with; below this the estimates are noise.
MIN_PERSONS = {"rasch": 20, "1pl": 20, "2pl": 100, "3pl": 250}
#: Default Beta prior on the 3PL lower asymptote (mode 0.2, the BILOG-MG convention for 5 options).
DEFAULT_GUESSING_PRIOR = (5.0, 17.0)
DEFAULT_TOL = 1e-4
DEFAULT_LL_TOL = 1e-4
DEFAULT_MAX_ITER = 2000
#: Bounds that keep a runaway item (near-perfect discrimination, extreme difficulty) finite.
ALPHA_BOUND = 25.0
D_BOUND = 40.0
GAMMA_BOUND = 12.0
LOG_SD_BOUND = 3.0
P_FLOOR = 1e-12
#: Collapse identical response patterns when there are this many items or fewer (e.g. LSAT7).
COLLAPSE_MAX_ITEMS = 24
NEWTON_STEPS = 2
MAX_NEWTON_STEP = 2.0
SE_METHOD = ("XPD: inverse of the cross-product of person score vectors (Fisher's identity), "
             "plus prior curvature; delta method to a, b, c")


@dataclass(frozen=True)
class Calibration:
    """The result of calibrating items. Arrays are (n_items,). ``D`` is the scaling constant of a, b, c."""

    model: str
    D: float
    item_ids: tuple[str, ...]
    a: np.ndarray
    b: np.ndarray
    c: np.ndarray
    se_a: np.ndarray
    se_b: np.ndarray
    se_c: np.ndarray
    fixed: np.ndarray              # bool: anchor item held at its given value
    n_answered: np.ndarray         # persons who answered each item
    latent_mean: float
    latent_sd: float
    log_likelihood: float
    n_parameters: int
    n_persons: int
    iterations: int
    converged: bool | None         # None: the engine does not report it (girth)
    seconds: float
    quadrature: Quadrature
    warnings: tuple[str, ...] = ()
    se_method: str = SE_METHOD
    guessing_prior: tuple[float, float] | None = None
    slope_prior: tuple[float, float] | None = None
    engine: str = "certbank"

    @property
    def aic(self) -> float:
        """Akaike (1974): −2 log L + 2 k."""
        return -2.0 * self.log_likelihood + 2.0 * self.n_parameters

    @property
    def bic(self) -> float:
        """Schwarz (1978): −2 log L + k ln N."""
        return -2.0 * self.log_likelihood + self.n_parameters * np.log(self.n_persons)

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame({
            "item_id": list(self.item_ids), "a": self.a, "b": self.b, "c": self.c,
            "se_a": self.se_a, "se_b": self.se_b, "se_c": self.se_c,
            "n": self.n_answered, "fixed": self.fixed,
        })

    def summary(self) -> dict:
        """The calibration.json content."""
        return {
            "model": self.model, "D": self.D, "engine": self.engine, "quadrature": self.quadrature.describe(),
            "log_likelihood": self.log_likelihood, "aic": self.aic, "bic": self.bic,
            "n_parameters": self.n_parameters, "n_persons": self.n_persons, "n_items": len(self.item_ids),
            "iterations": self.iterations, "converged": self.converged, "seconds": self.seconds,
            "latent_mean": self.latent_mean, "latent_sd": self.latent_sd, "se_method": self.se_method,
            "guessing_prior": list(self.guessing_prior) if self.guessing_prior else None,
            "slope_prior": list(self.slope_prior) if self.slope_prior else None,
            "warnings": list(self.warnings),
        }


# ----------------------------------------------------------------------------------------------------------
# Data preparation

@dataclass
class _Data:
    """Responses laid out for the matrix-product E-step. Arrays (n_rows, n_items) in ``dtype``."""

    right: np.ndarray        # Y1: 1 where answered right
    answered: np.ndarray     # M: 1 where answered
    freq: np.ndarray         # (n_rows,) how many persons share the row's pattern
    complete: bool           # no missing cells: M @ log Q collapses to a sum
    n_persons: int
    kept_persons: np.ndarray = field(default=None)  # index of persons with at least one response


def check_responses(responses, name: str = "responses") -> np.ndarray:
    """Return responses as float (n_persons, n_items), raising InputError unless every cell is 0, 1 or NaN."""
    x = np.asarray(responses, dtype=float)
    if x.ndim != 2:
        raise InputError(Problem(f"{name} must be a table of persons × items, got {x.ndim} dimension(s)"))
    bad = ~(np.isnan(x) | (x == 0) | (x == 1))
    if bad.any():
        i, j = np.argwhere(bad)[0]
        raise InputError(Problem(f"{int(bad.sum())} cell(s) are not 0, 1 or blank (first: person {i + 1}, "
                                 f"item {j + 1}, value {x[i, j]!r})"))
    return x


def prepare_data(x: np.ndarray, dtype=np.float32, collapse: bool | None = None) -> _Data:
    """Drop persons with no responses, optionally collapse identical patterns, split into Y1 and M."""
    answered = ~np.isnan(x)
    keep = np.flatnonzero(answered.any(axis=1))
    if keep.size < x.shape[0]:
        x, answered = x[keep], answered[keep]
    n_persons = x.shape[0]
    if collapse is None:
        collapse = x.shape[1] <= COLLAPSE_MAX_ITEMS
    freq = np.ones(n_persons)
    if collapse and n_persons:
        code = np.where(answered, x, 2.0).astype(np.int8)
        code, freq = np.unique(code, axis=0, return_counts=True)
        answered = code != 2
        x = np.where(answered, code, np.nan)
        freq = freq.astype(float)
    right = np.where(answered, x, 0.0).astype(dtype)
    complete = bool(answered.all())
    return _Data(right=right, answered=answered.astype(dtype), freq=freq, complete=complete,
                 n_persons=n_persons, kept_persons=keep)


# ----------------------------------------------------------------------------------------------------------
# The item response function in slope–intercept form, on the nodes

def _sigmoid(z):
    return 0.5 * (1.0 + np.tanh(0.5 * z))


def _irf(alpha, d, gamma, nodes):
    """P (n_items, n_nodes), σ(z) and c for P = c + (1 − c) σ(α x + d)."""
    z = alpha[:, None] * nodes[None, :] + d[:, None]
    s = _sigmoid(z)
    c = _sigmoid(gamma)[:, None]
    p = c + (1.0 - c) * s
    return np.clip(p, P_FLOOR, 1.0 - P_FLOOR), s, c


class _Model:
    """Bookkeeping of which internal parameters are free, and the EM map on the packed free vector."""

    def __init__(self, model: str, data: _Data, quad: Quadrature, D: float, fixed_mask: np.ndarray,
                 alpha0, d0, gamma0, free_mean: bool, free_sd: bool, guessing_prior, slope_prior):
        self.model, self.data, self.quad, self.D = model, data, quad, D
        self.nodes = quad.nodes.astype(float)
        self.free = ~fixed_mask
        self.alpha, self.d, self.gamma = alpha0.copy(), d0.copy(), gamma0.copy()
        self.free_mean, self.free_sd = free_mean, free_sd
        self.guessing_prior, self.slope_prior = guessing_prior, slope_prior
        self.mean, self.log_sd = 0.0, 0.0
        self.n_free_items = int(self.free.sum())
        self.has_alpha = model in ("2pl", "3pl")
        self.common_alpha = model == "1pl"
        self.has_gamma = model == "3pl"
        self.bound_hits: set[str] = set()

    # packing ------------------------------------------------------------------------------------------
    def pack(self) -> np.ndarray:
        f = self.free
        parts = [self.d[f]]
        if self.has_alpha:
            parts.append(self.alpha[f])
        if self.common_alpha:
            parts.append(self.alpha[f][:1])
        if self.has_gamma:
            parts.append(self.gamma[f])
        if self.free_mean:
            parts.append([self.mean])
        if self.free_sd:
            parts.append([self.log_sd])
        return np.concatenate([np.asarray(p, dtype=float) for p in parts])

    def unpack(self, v: np.ndarray) -> None:
        f, m = self.free, self.n_free_items
        pos = 0
        self.d[f] = np.clip(v[pos:pos + m], -D_BOUND, D_BOUND); pos += m
        if self.has_alpha:
            self.alpha[f] = np.clip(v[pos:pos + m], -ALPHA_BOUND, ALPHA_BOUND); pos += m
        if self.common_alpha:
            self.alpha[f] = np.clip(v[pos], 1e-3, ALPHA_BOUND); pos += 1
        if self.has_gamma:
            self.gamma[f] = np.clip(v[pos:pos + m], -GAMMA_BOUND, GAMMA_BOUND); pos += m
        if self.free_mean:
            self.mean = float(v[pos]); pos += 1
        if self.free_sd:
            self.log_sd = float(np.clip(v[pos], -LOG_SD_BOUND, LOG_SD_BOUND)); pos += 1

    # priors -------------------------------------------------------------------------------------------
    def log_prior(self) -> float:
        total = 0.0
        f = self.free
        if self.has_gamma and self.guessing_prior:
            p, q = self.guessing_prior
            c = _sigmoid(self.gamma[f])
            total += float(np.sum((p - 1) * np.log(c) + (q - 1) * np.log1p(-c)))
        if self.has_alpha and self.slope_prior:
            mu, sd = self.slope_prior
            a = np.abs(self.alpha[f]) / self.D
            la = np.log(np.maximum(a, 1e-12))
            total += float(np.sum(-0.5 * ((la - mu) / sd) ** 2 - la))
        return total

    # E-step -------------------------------------------------------------------------------------------
    def prior_weights(self) -> np.ndarray:
        return self.quad.weights_for(self.mean, float(np.exp(self.log_sd)))

    def posterior(self, normalize_freq: bool = True):
        """E-step. Returns (W (n_nodes, n_rows) posterior × freq, log-likelihood, P (n_items, n_nodes)).

        Node-major layout: the per-person maximum and sum are reductions over 61 contiguous rows, which
        numpy vectorizes, instead of along 61-long rows, which it does not.
        """
        data = self.data
        p, _, _ = _irf(self.alpha, self.d, self.gamma, self.nodes)
        log_p, log_q = np.log(p), np.log1p(-p)
        dt = data.right.dtype
        logl = (log_p - log_q).T.astype(dt) @ data.right.T
        if data.complete:
            logl += (log_q.sum(axis=0) + np.log(self.prior_weights())).astype(dt)[:, None]
        else:
            logl += log_q.T.astype(dt) @ data.answered.T
            logl += np.log(self.prior_weights()).astype(dt)[:, None]
        top = logl.max(axis=0)
        np.subtract(logl, top, out=logl)
        np.exp(logl, out=logl)
        tot = logl.sum(axis=0)
        ll = float(np.dot(data.freq, np.log(tot.astype(float)) + top.astype(float)))
        scale = (data.freq / tot) if normalize_freq else (1.0 / tot)
        np.multiply(logl, scale.astype(dt), out=logl)
        return logl, ll, p

    def expected_counts(self, w):
        """r (n_items, n_nodes), n (n_items, n_nodes), n_k (n_nodes,) from the posterior weights (n_nodes, n_rows)."""
        data = self.data
        r = (w @ data.right).T.astype(float)
        nk = w.sum(axis=1).astype(float)
        if data.complete:
            n = np.broadcast_to(nk, r.shape)
        else:
            n = (w @ data.answered).T.astype(float)
        return r, n, nk

    # M-step -------------------------------------------------------------------------------------------
    def m_step(self, r, n, nk) -> None:
        x = self.nodes
        f = self.free
        rf, nf = r[f], n[f]
        for _ in range(NEWTON_STEPS):
            if self.common_alpha:
                self._newton_common(rf, nf, x)
            else:
                self._fisher_scoring(rf, nf, x)
        if self.free_mean or self.free_sd:
            tot = nk.sum()
            mean = float(nk @ x / tot) if self.free_mean else self.mean
            var = float(nk @ (x - mean) ** 2 / tot)
            if self.free_mean:
                self.mean = mean
            if self.free_sd:
                self.log_sd = float(np.clip(0.5 * np.log(max(var, 1e-8)), -LOG_SD_BOUND, LOG_SD_BOUND))

    def _fisher_scoring(self, r, n, x):
        """One Fisher-scoring step per free item on (d[, α][, γ]) (Baker & Kim 2004, ch. 6), vectorized."""
        f = self.free
        alpha, d, gamma = self.alpha[f], self.d[f], self.gamma[f]
        p, s, c = _irf(alpha, d, gamma, x)
        q = 1.0 - p
        ds = (1.0 - c) * s * (1.0 - s)                 # ∂P/∂d
        derivs = [ds]
        if self.has_alpha:
            derivs.append(ds * x[None, :])             # ∂P/∂α
        if self.has_gamma:
            derivs.append(c * (1.0 - c) * (1.0 - s))   # ∂P/∂γ
        k = len(derivs)
        dp = np.stack(derivs, axis=1)                  # (m, k, n_nodes)
        resid = (r - n * p) / (p * q)
        grad = np.einsum("mkn,mn->mk", dp, resid)
        info = np.einsum("mkn,mln,mn->mkl", dp, dp, n / (p * q))
        if self.has_gamma and self.guessing_prior:
            pa, pb = self.guessing_prior
            cc = c[:, 0]
            grad[:, k - 1] += (pa - 1) * (1 - cc) - (pb - 1) * cc
            info[:, k - 1, k - 1] += (pa + pb - 2) * cc * (1 - cc)
        if self.has_alpha and self.slope_prior:
            mu, sd = self.slope_prior
            la = np.log(np.maximum(np.abs(alpha) / self.D, 1e-12))
            g = (-(la - mu) / sd ** 2 - 1.0) / alpha
            h = (-1.0 / sd ** 2 + (la - mu) / sd ** 2 + 1.0) / alpha ** 2
            grad[:, 1] += g
            info[:, 1, 1] += np.maximum(-h, 0.0)
        info += 1e-8 * np.eye(k)[None]
        step = np.linalg.solve(info, grad[..., None])[..., 0]
        step = np.clip(step, -MAX_NEWTON_STEP, MAX_NEWTON_STEP)
        self.d[f] = np.clip(d + step[:, 0], -D_BOUND, D_BOUND)
        if self.has_alpha:
            self.alpha[f] = np.clip(alpha + step[:, 1], -ALPHA_BOUND, ALPHA_BOUND)
        if self.has_gamma:
            self.gamma[f] = np.clip(gamma + step[:, k - 1], -GAMMA_BOUND, GAMMA_BOUND)

    def _newton_common(self, r, n, x):
        """Newton step on (d_1..d_m, α common) with the arrow-shaped Hessian solved by its Schur complement."""
        f = self.free
        alpha = self.alpha[f][0]
        d = self.d[f]
        z = alpha * x[None, :] + d[:, None]
        p = _sigmoid(z)
        w = n * p * (1 - p)
        res = r - n * p
        g_d = res.sum(axis=1)
        g_a = float((res * x).sum())
        h_dd = w.sum(axis=1) + 1e-10
        h_da = (w * x).sum(axis=1)
        h_aa = float((w * x * x).sum())
        schur = h_aa - float(np.sum(h_da ** 2 / h_dd))
        step_a = (g_a - float(np.sum(h_da * g_d / h_dd))) / max(schur, 1e-10)
        step_d = (g_d - h_da * step_a) / h_dd
        self.alpha[f] = np.clip(alpha + np.clip(step_a, -MAX_NEWTON_STEP, MAX_NEWTON_STEP), 1e-3, ALPHA_BOUND)
        self.d[f] = np.clip(d + np.clip(step_d, -MAX_NEWTON_STEP, MAX_NEWTON_STEP), -D_BOUND, D_BOUND)

    # EM map -------------------------------------------------------------------------------------------
    def em_map(self, v: np.ndarray):
        """F(v): one E-step at v and one M-step. Returns (F(v), log-likelihood at v, log posterior at v)."""
        self.unpack(v)
        w, ll, _ = self.posterior()
        lp = ll + self.log_prior()
        r, n, nk = self.expected_counts(w)
        self.m_step(r, n, nk)
        return self.pack(), ll, lp


def _squarem(model: _Model, v0: np.ndarray, tol: float, ll_tol: float, max_iter: int):
    """SQUAREM-S3 (Varadhan & Roland 2008) around the EM map, monotone in the log posterior.

    Returns (v, log-likelihood, EM cycles used, converged).
    """
    v = v0
    evals = 0
    step_max = 1.0
    ll_tol = _effective_ll_tol(model, ll_tol)
    ll_prev = -np.inf
    while evals < max_iter:
        v1, ll0, lp0 = model.em_map(v)
        evals += 1
        change = float(np.max(np.abs(v1 - v))) if v.size else 0.0
        if change < tol and abs(ll0 - ll_prev) < ll_tol:
            model.unpack(v1)
            return v1, ll0, evals, True
        ll_prev = ll0
        v2, ll1, lp1 = model.em_map(v1)
        evals += 1
        r = v1 - v
        u = v2 - v1 - r
        nu = float(np.sqrt(u @ u))
        if nu == 0.0 or not np.isfinite(nu):
            v = v2
            continue
        step = -min(float(np.sqrt(r @ r)) / nu, step_max)
        step = min(step, -1.0)
        v_new = v - 2.0 * step * r + step * step * u
        v3, ll_new, lp_new = model.em_map(v_new)
        evals += 1
        if np.isfinite(lp_new) and lp_new >= lp1 - 1e-8 * abs(lp1):
            v = v3
            if step == -step_max:
                step_max *= 4.0
        else:
            v = v2
            step_max = max(1.0, step_max / 4.0)
        ll_prev = ll1
    model.unpack(v)
    _, ll, _ = model.posterior()
    return v, ll, evals, False


# ----------------------------------------------------------------------------------------------------------
# Standard errors

def _score_vectors(model: _Model):
    """Per-row score vectors (n_rows, n_free) of the marginal log-likelihood, by Fisher's identity."""
    w, _, p = model.posterior(normalize_freq=False)
    w = w.T.astype(float)
    data = model.data
    x = model.nodes
    f = model.free
    y1 = data.right.astype(float)[:, f]
    y0 = data.answered.astype(float)[:, f] - y1
    _, s, c = _irf(model.alpha, model.d, model.gamma, x)
    pf, sf, cf = p[f], s[f], c[f]
    qf = 1.0 - pf
    ds = (1.0 - cf) * sf * (1.0 - sf)

    def score(dp):
        return y1 * (w @ (dp / pf).T) - y0 * (w @ (dp / qf).T)

    cols = [score(ds)]
    if model.has_alpha:
        cols.append(score(ds * x[None, :]))
    if model.common_alpha:
        cols.append(score(ds * x[None, :]).sum(axis=1, keepdims=True))
    if model.has_gamma:
        cols.append(score(cf * (1.0 - cf) * (1.0 - sf)))
    if model.free_mean or model.free_sd:
        sd = float(np.exp(model.log_sd))
        z = (x - model.mean) / sd
        pw = model.prior_weights()
        if model.free_mean:
            g = z / sd
            cols.append((w @ (g - pw @ g))[:, None])
        if model.free_sd:
            g = z * z
            cols.append((w @ (g - pw @ g))[:, None])
    return np.hstack(cols)


def _prior_curvature(model: _Model, n_free: int) -> np.ndarray:
    """Negative Hessian of the log prior on the packed vector (diagonal)."""
    h = np.zeros(n_free)
    f, m = model.free, model.n_free_items
    pos = m
    if model.has_alpha:
        if model.slope_prior:
            mu, sd = model.slope_prior
            alpha = model.alpha[f]
            la = np.log(np.maximum(np.abs(alpha) / model.D, 1e-12))
            h[pos:pos + m] = np.maximum(-(-1.0 / sd ** 2 + (la - mu) / sd ** 2 + 1.0) / alpha ** 2, 0.0)
        pos += m
    if model.common_alpha:
        pos += 1
    if model.has_gamma:
        if model.guessing_prior:
            pa, pb = model.guessing_prior
            c = _sigmoid(model.gamma[f])
            h[pos:pos + m] = (pa + pb - 2) * c * (1 - c)
        pos += m
    return h


def _standard_errors(model: _Model, warnings: list[str]):
    """SEs of (a, b, c) per item from the XPD information; NaN for fixed items and fixed parameters."""
    n_items = model.alpha.size
    se_a, se_b, se_c = (np.full(n_items, np.nan) for _ in range(3))
    scores = _score_vectors(model)
    freq = model.data.freq
    info = (scores * freq[:, None]).T @ scores
    info[np.diag_indices_from(info)] += _prior_curvature(model, info.shape[0])
    try:
        cov = np.linalg.inv(info)
        if not np.all(np.isfinite(cov)) or np.any(np.diag(cov) < 0):
            raise np.linalg.LinAlgError
    except np.linalg.LinAlgError:
        warnings.append("The information matrix is singular: standard errors are not available.")
        return se_a, se_b, se_c
    f = np.flatnonzero(model.free)
    m = f.size
    D = model.D
    i_d = np.arange(m)
    alpha, d = model.alpha[f], model.d[f]
    var_d = cov[i_d, i_d]
    if model.has_alpha or model.common_alpha:
        i_a = m + (np.arange(m) if model.has_alpha else np.zeros(m, dtype=int))
        var_a = cov[i_a, i_a]
        cov_ad = cov[i_a, i_d]
        se_a[f] = np.sqrt(var_a) / D
        # b = −d/α: ∂b/∂α = d/α², ∂b/∂d = −1/α
        var_b = (d / alpha ** 2) ** 2 * var_a + var_d / alpha ** 2 - 2 * (d / alpha ** 3) * cov_ad
        se_b[f] = np.sqrt(np.maximum(var_b, 0.0))
    else:  # Rasch: α = D fixed, b = −d/D
        se_b[f] = np.sqrt(var_d) / D
    if model.has_gamma:
        i_g = 2 * m + np.arange(m)
        c = _sigmoid(model.gamma[f])
        se_c[f] = c * (1 - c) * np.sqrt(cov[i_g, i_g])
    return se_a, se_b, se_c


# ----------------------------------------------------------------------------------------------------------
# The public entry point

def _initial_values(data: _Data, model: str, D: float, guessing_prior):
    """Starting values from classical statistics: α from the item–rest correlation, d from the p-value.

    Everything comes from two weighted matrix–vector products over the (collapsed) rows.
    """
    f = data.freq
    y, m = data.right, data.answered
    n_j = f @ m
    n_tot = f.sum()
    pval = np.clip((f @ y) / np.maximum(n_j, 1), 0.02, 0.98)
    total = (y.sum(axis=1, dtype=np.float64))
    mean_t = f @ total / n_tot
    var_t = f @ (total - mean_t) ** 2 / n_tot
    cov_jt = (f * (total - mean_t)) @ y / n_tot            # cov(y_j, total), missing cells count as 0
    var_j = pval * (1 - pval)
    cov_rest = cov_jt - var_j
    var_rest = np.maximum(var_t - 2 * cov_jt + var_j, 1e-12)
    corr = np.nan_to_num(cov_rest / np.sqrt(var_j * var_rest), nan=0.3)
    n_items = y.shape[1]
    if model in ("2pl", "3pl"):
        alpha = np.clip(1.7 * corr / np.sqrt(np.maximum(1 - corr ** 2, 0.05)), 0.3, 3.0)
    elif model == "1pl":
        alpha = np.full(n_items, 1.0)
    else:
        alpha = np.full(n_items, D)
    if model == "3pl":
        c0 = 0.2
        if guessing_prior and guessing_prior[0] + guessing_prior[1] > 2:
            c0 = (guessing_prior[0] - 1) / (guessing_prior[0] + guessing_prior[1] - 2)
        pval = np.clip((pval - c0) / (1 - c0), 0.02, 0.98)
        gamma = np.full(n_items, np.log(c0 / (1 - c0)))
    else:
        gamma = np.full(n_items, -np.inf)
    d = np.log(pval / (1 - pval)) * np.sqrt(1 + np.pi * alpha ** 2 / 8)
    return alpha.astype(float), d.astype(float), gamma


def _check_degenerate(x: np.ndarray, item_ids: Sequence[str], fixed_mask: np.ndarray, model: str) -> list[str]:
    """Sentences for items the model cannot estimate: nobody answered, or everybody right / wrong."""
    answered = ~np.isnan(x)
    n = answered.sum(axis=0)
    right = np.nansum(x, axis=0)
    problems = []
    for j in np.flatnonzero(~fixed_mask):
        if n[j] == 0:
            problems.append(f"Item {item_ids[j]} has no responses.")
        elif right[j] == n[j]:
            problems.append(f"Item {item_ids[j]} was answered correctly by all {n[j]} candidates who saw it.")
        elif right[j] == 0:
            problems.append(f"Item {item_ids[j]} was answered wrongly by all {n[j]} candidates who saw it.")
    return problems


def calibrate(responses, model: str = "2pl", *, item_ids: Sequence[str] | None = None, D: float = D_LOGISTIC,
              quadrature: Quadrature | None = None,
              anchors: Mapping[str, tuple[float, float, float]] | None = None,
              guessing_prior: tuple[float, float] | None = DEFAULT_GUESSING_PRIOR,
              slope_prior: tuple[float, float] | None = None,
              tol: float = DEFAULT_TOL, ll_tol: float = DEFAULT_LL_TOL, max_iter: int = DEFAULT_MAX_ITER,
              accelerate: bool = True, standard_errors: bool = True, dtype=np.float32) -> Calibration:
    """Calibrate dichotomous items by marginal maximum likelihood (Bock & Aitkin 1981).

    responses: (n_persons, n_items) of 1 (right), 0 (wrong), NaN (not presented / not reached).
    model: rasch | 1pl | 2pl | 3pl. D: scaling constant of the reported a, b, c.
    anchors: {item_id: (a, b, c)} items held at bank values (fixed-anchor calibration): the other items land
      on the bank scale, and the latent mean and SD are estimated.
    guessing_prior: Beta(p, q) on c (3pl only; None for none). slope_prior: (μ, σ) of a lognormal prior on a.
    Raises EstimationError (one sentence per problem) when the data cannot support the model.
    Runs with one BLAS thread (see ``_threads``): the products are too small to share.
    """
    with blas_threads(1):
        return _calibrate(responses, model, item_ids, D, quadrature, anchors, guessing_prior, slope_prior, tol,
                          ll_tol, max_iter, accelerate, standard_errors, dtype)


def _calibrate(responses, model, item_ids, D, quadrature, anchors, guessing_prior, slope_prior, tol, ll_tol,
               max_iter, accelerate, standard_errors, dtype) -> Calibration:
    start = time.perf_counter()
    model = model.lower()
    if model not in MODELS:
        raise InputError(Problem(f"unknown model {model!r}; choose one of {', '.join(MODELS)}"))
    x = check_responses(responses)
    n_items = x.shape[1]
    item_ids = tuple(str(i) for i in item_ids) if item_ids is not None else tuple(
        f"item{j + 1}" for j in range(n_items))
    if len(item_ids) != n_items:
        raise InputError(Problem(f"{len(item_ids)} item ids for {n_items} response columns"))
    quad = quadrature or make_quadrature()
    guessing_prior = guessing_prior if model == "3pl" else None
    slope_prior = slope_prior if model in ("2pl", "3pl") else None

    fixed_mask = np.zeros(n_items, dtype=bool)
    fa, fb, fc = np.ones(n_items), np.zeros(n_items), np.zeros(n_items)
    if anchors:
        unknown = [k for k in anchors if k not in item_ids]
        if unknown:
            raise InputError(Problem(f"anchor item(s) not in the responses: {', '.join(map(str, unknown))}"))
        for j, iid in enumerate(item_ids):
            if iid in anchors:
                fixed_mask[j] = True
                fa[j], fb[j], fc[j] = (float(v) for v in anchors[iid])
    warnings: list[str] = []
    problems = _check_degenerate(x, item_ids, fixed_mask, model)
    if problems:
        raise EstimationError(" ".join(problems) + " Remove such items (or hold them fixed) and calibrate again.")
    if fixed_mask.all():
        raise EstimationError("Every item is an anchor: there is nothing to calibrate.")

    data = prepare_data(x, dtype=dtype)
    dropped = x.shape[0] - data.n_persons
    if dropped:
        warnings.append(f"{dropped} candidate(s) with no responses were left out of the calibration.")
    n_persons = int(round(data.freq.sum()))
    if n_persons < MIN_PERSONS[model]:
        raise EstimationError(f"The {model} model needs at least {MIN_PERSONS[model]} candidates with "
                              f"responses; these data have {n_persons}.")

    alpha0, d0, gamma0 = _initial_values(data, model, D, guessing_prior)
    if model == "3pl" and guessing_prior is None:
        gamma0[:] = np.log(0.2 / 0.8)
    if fixed_mask.any():
        alpha0[fixed_mask] = D * fa[fixed_mask]
        d0[fixed_mask] = -D * fa[fixed_mask] * fb[fixed_mask]
        with np.errstate(divide="ignore"):
            gamma0[fixed_mask] = np.log(fc[fixed_mask]) - np.log1p(-fc[fixed_mask])
        if model == "rasch" and not np.allclose(fa[fixed_mask], 1.0):
            warnings.append("Some anchor items have a slope other than 1; they are held at their own slopes.")
    anchored = bool(fixed_mask.any())
    em = _Model(model, data, quad, D, fixed_mask, alpha0, d0, gamma0,
                free_mean=anchored, free_sd=anchored or model == "rasch",
                guessing_prior=guessing_prior, slope_prior=slope_prior)
    v0 = em.pack()
    if accelerate:
        v, ll, iterations, converged = _squarem(em, v0, tol, ll_tol, max_iter)
    else:
        v, ll, iterations, converged = _plain_em(em, v0, tol, ll_tol, max_iter)
    if not converged:
        warnings.append(f"The EM did not converge in {iterations} cycles (tolerance {tol}); "
                        f"treat the estimates as provisional.")

    f = em.free
    if np.any(np.abs(em.alpha[f]) >= ALPHA_BOUND * 0.999) or np.any(np.abs(em.d[f]) >= D_BOUND * 0.999):
        hit = [item_ids[j] for j in np.flatnonzero(f & ((np.abs(em.alpha) >= ALPHA_BOUND * 0.999)
                                                       | (np.abs(em.d) >= D_BOUND * 0.999)))]
        warnings.append(f"Estimates of {', '.join(hit)} reached their bounds (the data barely identify them).")
    if model == "2pl" or model == "3pl":
        neg = [item_ids[j] for j in np.flatnonzero(f & (em.alpha < 0))]
        if neg:
            warnings.append(f"Item(s) {', '.join(neg)} have a negative slope: check the key.")

    if standard_errors:
        se_a, se_b, se_c = _standard_errors(em, warnings)
    else:
        se_a, se_b, se_c = (np.full(n_items, np.nan) for _ in range(3))

    a, b = em.alpha / D, -em.d / em.alpha
    c = _sigmoid(em.gamma)
    a[fixed_mask], b[fixed_mask], c[fixed_mask] = fa[fixed_mask], fb[fixed_mask], fc[fixed_mask]
    sd = float(np.exp(em.log_sd))
    n_parameters = v.size
    return Calibration(
        model=model, D=float(D), item_ids=item_ids, a=a, b=b, c=c, se_a=se_a, se_b=se_b, se_c=se_c,
        fixed=fixed_mask, n_answered=(~np.isnan(x)).sum(axis=0), latent_mean=float(em.mean), latent_sd=sd,
        log_likelihood=float(ll), n_parameters=int(n_parameters), n_persons=n_persons, iterations=int(iterations),
        converged=bool(converged), seconds=time.perf_counter() - start, quadrature=quad,
        warnings=tuple(warnings), guessing_prior=guessing_prior, slope_prior=slope_prior)


def _effective_ll_tol(model: _Model, ll_tol: float) -> float:
    """In float32 the log-likelihood carries rounding noise of about 1e-7·|LL|: never ask for less."""
    if model.data.right.dtype == np.float32:
        return max(ll_tol, 4e-7 * model.data.freq.sum() * 0.6 * model.alpha.size)
    return ll_tol


def marginal_log_likelihood(responses, a, b, c=None, *, D: float = D_LOGISTIC,
                            quadrature: Quadrature | None = None, mean: float = 0.0, sd: float = 1.0) -> float:
    """log L = Σ_i log Σ_k π_k Π_j P_j(x_k)^y_ij Q_j(x_k)^(1−y_ij) over answered items (Bock & Aitkin 1981, eq. 4).

    responses (n_persons, n_items); a, b, c (n_items,). Computed in float64.
    """
    x = check_responses(responses)
    n_items = x.shape[1]
    a = np.broadcast_to(np.asarray(a, dtype=float), (n_items,))
    b = np.broadcast_to(np.asarray(b, dtype=float), (n_items,))
    c = np.zeros(n_items) if c is None else np.broadcast_to(np.asarray(c, dtype=float), (n_items,))
    quad = quadrature or make_quadrature()
    data = prepare_data(x, dtype=np.float64)
    alpha = D * a
    with np.errstate(divide="ignore"):
        gamma = np.log(c) - np.log1p(-c)
    m = _Model("2pl", data, quad, D, np.ones(n_items, dtype=bool), alpha, -alpha * b, gamma,
               free_mean=False, free_sd=False, guessing_prior=None, slope_prior=None)
    m.mean, m.log_sd = float(mean), float(np.log(sd))
    return m.posterior()[1]


def _plain_em(model: _Model, v0, tol, ll_tol, max_iter):
    v = v0
    ll_tol = _effective_ll_tol(model, ll_tol)
    ll_prev = -np.inf
    for it in range(1, max_iter + 1):
        v1, ll, _ = model.em_map(v)
        if float(np.max(np.abs(v1 - v))) < tol and abs(ll - ll_prev) < ll_tol:
            model.unpack(v1)
            return v1, ll, it, True
        v, ll_prev = v1, ll
    model.unpack(v)
    return v, ll_prev, max_iter, False
