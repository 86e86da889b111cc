"""The Bock–Aitkin EM engine behind ``estimation.calibrate``: data layout, E-step, M-step, SQUAREM.

E-step (Bock & Aitkin 1981): posterior weights of each person at each quadrature node,
    log L_ik = Σ_j [y_ij log P_j(x_k) + (1 − y_ij) log Q_j(x_k)] over the items person i answered,
    w_ik = L_ik π_k / Σ_k' L_ik' π_k',
computed node-major as two matrix products, (log P − log Q)ᵀ @ Y1ᵀ + (log Q)ᵀ @ Mᵀ (Y1: right answers,
M: answered; the second collapses to a column sum when nothing is missing), in float32.
M-step: expected counts r_jk = Σ_i y_ij w_ik and n_jk = Σ_i m_ij w_ik, then per item a few Fisher-scoring
steps on Σ_k r_jk log P_jk + (n_jk − r_jk) log Q_jk + log prior (Baker & Kim 2004, ch. 6), vectorized over
items; the 1PL's common slope by Newton with the arrow-shaped Hessian. A free latent mean / SD is updated from
the posterior moments of θ (Mislevy 1984).
SQUAREM-S3 (Varadhan & Roland 2008) accelerates the EM map, with a monotonicity safeguard on the log posterior.

Items are in slope–intercept form z = α θ + d, P = c + (1 − c) σ(z), c = logistic(γ).
Shapes: data (n_rows, n_items) with row frequencies (n_rows,); item arrays (n_items,); P (n_items, n_nodes).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from certbank_core.errors import InputError, Problem
from psychometrics.irt.quadrature import Quadrature

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
#: Convergence also needs every component of the projected gradient of the log posterior within this many
#: units per person (at a maximum, float32 rounding leaves ~1e-6; LSAT7's mis-stepped 3PL had 3.6e-3).
GRADIENT_TOL = 1e-4
#: A slope beyond this (|a|, any D) means the item's likelihood has no finite maximum (see ``runaway``).
RUNAWAY_SLOPE = 8.0


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
        self.rescales = quad.rescales
        self.update_grid()
        self.n_free_items = int(self.free.sum())
        self.has_alpha = model in ("2pl", "3pl")
        self.common_alpha = model == "1pl"
        self.has_gamma = model == "3pl"

    # packing ------------------------------------------------------------------------------------------
    def drift_by_item(self, delta: np.ndarray) -> np.ndarray:
        """Largest change of each item's parameters in a packed change vector. Returns (n_items,)."""
        m = self.n_free_items
        parts = [np.abs(delta[:m])]
        pos = m
        if self.has_alpha:
            parts.append(np.abs(delta[pos:pos + m]))
            pos += m
        if self.common_alpha:
            pos += 1
        if self.has_gamma:
            parts.append(np.abs(delta[pos:pos + m]))
        out = np.zeros(self.alpha.size)
        out[self.free] = np.max(parts, axis=0)
        return out

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
        self.update_grid()

    def update_grid(self) -> None:
        """Nodes and log weights for the current latent N(μ, σ²) (``Quadrature.log_grid_for``)."""
        self.nodes, self.log_w = self.quad.log_grid_for(self.mean, float(np.exp(self.log_sd)))
        self.nodes = np.asarray(self.nodes, dtype=float)

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
        return np.exp(self.log_w)

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
            logl += (log_q.sum(axis=0) + self.log_w).astype(dt)[:, None]
        else:
            logl += log_q.T.astype(dt) @ data.answered.T
            logl += self.log_w.astype(dt)[:, None]
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
        self.gradient = self.projected_gradient(rf, nf)
        for _ in range(NEWTON_STEPS):
            if self.common_alpha:
                self._newton_common(rf, nf, x)
            else:
                self._fisher_scoring(rf, nf, x)
        if (self.free_mean or self.free_sd) and self.rescales:
            self._latent_newton(r, n)
        elif self.free_mean or self.free_sd:
            tot = nk.sum()
            mean = float(nk @ x / tot) if self.free_mean else self.mean
            var = float(nk @ (x - mean) ** 2 / tot)
            if self.free_mean:
                self.mean = mean
            if self.free_sd:
                self.log_sd = float(np.clip(0.5 * np.log(max(var, 1e-8)), -LOG_SD_BOUND, LOG_SD_BOUND))
        self.update_grid()

    def _latent_newton(self, r, n) -> None:
        """Fisher-scoring steps on (μ[, log σ]) when the nodes are θ_k = μ + σ x_k (Gauss–Hermite).

        With the weights fixed, μ and σ enter only the item response functions: z_jk = α_j (μ + σ x_k) + d_j,
        so ∂z/∂μ = α_j and ∂z/∂log σ = α_j σ x_k, and the expected-count gradient and Fisher information are
        those of an item step (Baker & Kim 2004, ch. 6) summed over every item, anchors included. A
        generalized EM step (Dempster, Laird & Rubin 1977): it raises the expected complete-data log-likelihood.
        """
        x = self.quad.nodes
        for _ in range(NEWTON_STEPS):
            sd = float(np.exp(self.log_sd))
            theta = self.mean + sd * x
            p, s, c = _irf(self.alpha, self.d, self.gamma, theta)
            pz = (1.0 - c) * s * (1.0 - s)                          # ∂P/∂z
            cols = []
            if self.free_mean:
                cols.append(self.alpha[:, None] * pz)
            if self.free_sd:
                cols.append(self.alpha[:, None] * sd * x[None, :] * pz)
            dp = np.stack(cols)                                     # (k, n_items, n_nodes)
            pq = p * (1.0 - p)
            grad = np.einsum("kjn,jn->k", dp, (r - n * p) / pq)
            info = np.einsum("kjn,ljn,jn->kl", dp, dp, n / pq) + 1e-10 * np.eye(len(cols))
            step = np.clip(np.linalg.solve(info, grad), -0.5, 0.5)
            pos = 0
            if self.free_mean:
                self.mean = float(self.mean + step[pos]); pos += 1
            if self.free_sd:
                self.log_sd = float(np.clip(self.log_sd + step[pos], -LOG_SD_BOUND, LOG_SD_BOUND))

    def item_gradient(self, r, n) -> np.ndarray:
        """∂/∂(d[, α][, γ]) of the log posterior of each free item, (m, k), from the expected counts.

        At the parameters of the E-step that gave r and n this is the gradient of the marginal log-likelihood
        (plus log prior) itself, by Fisher's identity (Louis 1982): ∂ log L/∂ψ = Σ_k ∂P_jk/∂ψ (r_jk − n_jk P_jk)
        / (P_jk Q_jk). The 1PL's common slope is the last column of every row (its sum is the gradient).
        """
        x = self.nodes
        f = self.free
        alpha, d, gamma = self.alpha[f], self.d[f], self.gamma[f]
        p, s, c = _irf(alpha, d, gamma, x)
        resid = (r - n * p) / (p * (1.0 - p))
        ds = (1.0 - c) * s * (1.0 - s)
        cols = [np.einsum("mn,mn->m", ds, resid)]
        if self.has_alpha or self.common_alpha:
            g_a = np.einsum("mn,mn->m", ds * x[None, :], resid)
            if self.has_alpha and self.slope_prior:
                mu, sd = self.slope_prior
                la = np.log(np.maximum(np.abs(alpha) / self.D, 1e-12))
                g_a = g_a + (-(la - mu) / sd ** 2 - 1.0) / alpha
            cols.append(g_a)
        if self.has_gamma:
            g_g = np.einsum("mn,mn->m", c * (1.0 - c) * (1.0 - s), resid)
            if self.guessing_prior:
                pa, pb = self.guessing_prior
                cc = c[:, 0]
                g_g = g_g + (pa - 1) * (1 - cc) - (pb - 1) * cc
            cols.append(g_g)
        return np.stack(cols, axis=1)

    def projected_gradient(self, r, n) -> np.ndarray:
        """``item_gradient`` with the components that push a parameter held at its bound further out set to 0
        (the projected gradient: zero at a maximum on the box, Bertsekas 1982). The 1PL's common slope
        keeps its summed gradient in every row."""
        g = self.item_gradient(r, n)
        f = self.free
        g[:, 0] = np.where((np.abs(self.d[f]) >= D_BOUND) & (g[:, 0] * self.d[f] > 0), 0.0, g[:, 0])
        if self.common_alpha:
            g[:, 1] = g[:, 1].sum()
        elif self.has_alpha:
            a = self.alpha[f]
            g[:, 1] = np.where((np.abs(a) >= ALPHA_BOUND) & (g[:, 1] * a > 0), 0.0, g[:, 1])
        if self.has_gamma:
            gm = self.gamma[f]
            at_bound = ((gm <= -GAMMA_BOUND) & (g[:, -1] < 0)) | ((gm >= GAMMA_BOUND) & (g[:, -1] > 0))
            g[:, -1] = np.where(at_bound, 0.0, g[:, -1])
        return g

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
        if self.has_gamma:
            # γ is bounded: its step is projected onto [−GAMMA_BOUND, GAMMA_BOUND] and (d, α) take the best
            # step of the same quadratic model given that projected γ step, Δr = H_rr⁻¹ (g_r − H_rγ Δγ)
            # (a projected Newton step, Bertsekas 1982). Moving (d, α) as if γ had gone past its bound
            # left them short of their conditional maximum (LSAT7 3PL without a prior).
            dg = np.clip(gamma + step[:, k - 1], -GAMMA_BOUND, GAMMA_BOUND) - gamma
            rhs = grad[:, :k - 1] - info[:, :k - 1, k - 1] * dg[:, None]
            step[:, :k - 1] = np.linalg.solve(info[:, :k - 1, :k - 1], rhs[..., None])[..., 0]
            step[:, k - 1] = dg
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

    def at_stationary_point(self) -> bool:
        """The projected gradient of the log posterior at the last E-step is ~0: every |component| is at most
        ``GRADIENT_TOL`` per person. A fixed point of a mis-stepped EM map (parameters that stopped moving
        while the likelihood still rises) cannot pass this; at a genuine maximum the float32 E-step leaves
        about 1e-6 per person."""
        g = getattr(self, "gradient", None)
        if g is None or g.size == 0:
            return True
        g = g[~self.runaway()[self.free]]
        return g.size == 0 or float(np.abs(g).max()) <= GRADIENT_TOL * float(self.data.freq.sum())

    def runaway(self) -> np.ndarray:
        """Items whose slope has run past ``RUNAWAY_SLOPE`` (|a| = |α|/D): their likelihood rises along a ridge
        towards an infinite slope (a miskeyed or Guttman-like item) and has no finite maximum; they are left
        out of the stationarity check and of the standard errors, and named in a warning. (n_items,) bool."""
        return np.abs(self.alpha) / self.D >= RUNAWAY_SLOPE

    # EM map -------------------------------------------------------------------------------------------
    def em_map(self, v: np.ndarray):
        """F(v): one E-step at v and one M-step. Returns (F(v), log-likelihood at v, log posterior at v)."""
        self.unpack(v)
        w, ll, _ = self.posterior()
        lp = ll + self.log_prior()
        r, n, nk = self.expected_counts(w)
        self.m_step(r, n, nk)
        return self.pack(), ll, lp


#: On non-convergence, the items whose parameters moved most over this many last cycles are named.
STALL_CYCLES = 25
#: The EM's contraction rate is capped here when it turns a step into a distance to the fixed point.
MAX_RATE = 0.9


def _distance_to_fixed_point(step: np.ndarray, previous: np.ndarray) -> float:
    """Largest change of one EM cycle divided by (1 − rate), rate = ‖step‖ / ‖previous step‖.

    A linearly converging EM with rate ρ is still ≈ |Δ| / (1 − ρ) from its fixed point: where the EM crawls
    (a weakly identified 3PL asymptote, ρ near 1) a small step does not mean convergence (Dempster, Laird &
    Rubin 1977; McLachlan & Krishnan 2008, sec. 3.9).
    """
    if step.size == 0:
        return 0.0
    prev = float(np.sqrt(previous @ previous))
    rate = min(float(np.sqrt(step @ step)) / prev, MAX_RATE) if prev > 0 else 0.0
    return float(np.max(np.abs(step))) / (1.0 - rate)


def _squarem(model: _Model, v0: np.ndarray, tol: float, ll_tol: float, max_iter: int):
    """SQUAREM-S3 (Varadhan & Roland 2008) around the EM map, monotone in the log posterior.

    Converged when the estimated distance to the fixed point (``_distance_to_fixed_point``) is below ``tol``
    and one EM cycle changes the log-likelihood by less than ``ll_tol``.
    Returns (v, log-likelihood at v, EM cycles used, converged).
    """
    v = v0
    evals = 0
    step_max = 1.0
    ll_tol = _effective_ll_tol(model, ll_tol)
    converged = False
    history: list[tuple[float, np.ndarray]] = []   # (log posterior, parameters) at each cycle start
    model.stalled = None
    while evals < max_iter:
        v1, ll0, lp0 = model.em_map(v)
        v2, ll1, lp1 = model.em_map(v1)
        evals += 2
        r = v1 - v
        s = v2 - v1
        if _distance_to_fixed_point(s, r) < tol and abs(ll1 - ll0) < ll_tol and model.at_stationary_point():
            v, converged = v2, True
            break
        history.append((lp0, v))
        if len(history) > STALL_CYCLES:
            history.pop(0)
        u = s - r
        nu = float(np.sqrt(u @ u))
        if nu == 0.0 or not np.isfinite(nu):
            v = v2
            continue
        step = -min(float(np.sqrt(r @ r)) / nu, step_max)
        step = min(step, -1.0)
        v_new = v - 2.0 * step * r + step * step * u
        v3, ll_new, lp_new = model.em_map(v_new)
        evals += 1
        if np.isfinite(lp_new) and lp_new >= lp1 - max(1e-8 * abs(lp1), ll_tol):
            v = v3
            if step == -step_max:
                step_max *= 4.0
        else:
            v = v2
            step_max = max(1.0, step_max / 4.0)
    if not converged and history:
        # what still moves at the end: parameters the data barely identify
        model.stalled = np.abs(v - history[0][1])
    model.unpack(v)
    _, ll, _ = model.posterior()
    return v, ll, evals, converged


def _effective_ll_tol(model: _Model, ll_tol: float) -> float:
    """In float32 the log-likelihood carries rounding noise of about 1e-7·|LL|: never ask for less."""
    if model.data.right.dtype == np.float32:
        return max(ll_tol, 4e-7 * model.data.freq.sum() * 0.6 * model.alpha.size)
    return ll_tol


def _plain_em(model: _Model, v0, tol, ll_tol, max_iter):
    """Unaccelerated EM with the same convergence rule as ``_squarem``."""
    v = v0
    ll_tol = _effective_ll_tol(model, ll_tol)
    ll_prev = -np.inf
    previous = np.zeros_like(v0)
    converged = False
    it = 0
    for it in range(1, max_iter + 1):
        v1, ll, _ = model.em_map(v)
        step = v1 - v
        done = (it > 1 and _distance_to_fixed_point(step, previous) < tol and abs(ll - ll_prev) < ll_tol
                and model.at_stationary_point())
        v, ll_prev, previous = v1, ll, step
        if done:
            converged = True
            break
    model.unpack(v)
    _, ll, _ = model.posterior()
    return v, ll, it, converged
