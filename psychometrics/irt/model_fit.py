"""Limited-information fit of a calibrated dichotomous IRT model: M2, RMSEA2 and SRMSR.

M2 (Maydeu-Olivares & Joe 2005, 2006) uses the univariate and bivariate margins of the item responses,
π₂ = (π_j = P(x_j = 1), π_jk = P(x_j = x_k = 1), j < k), under the model by quadrature over the fitted
latent distribution, and their sample counterparts p₂ (N persons):

    M2 = N (p₂ − π₂)ᵀ C₂ (p₂ − π₂),   C₂ = Γ₂⁻¹ − Γ₂⁻¹ Δ₂ (Δ₂ᵀ Γ₂⁻¹ Δ₂)⁻¹ Δ₂ᵀ Γ₂⁻¹,

with Γ₂ the asymptotic covariance of √N p₂ under the model — for moments m_A = E[Π_{j∈A} x_j],
Cov(m_A, m_B) = π_{A∪B} − π_A π_B (x² = x) — and Δ₂ = ∂π₂/∂ϑ the Jacobian of the margins in the free
parameters (here by central differences of π₂, which is smooth in them; M2 does not depend on how the model
is parametrized). Degrees of freedom: the number of margins, k + k(k − 1)/2, minus the rank of Δ₂.

RMSEA2 = √(max(M2 − df, 0) / (N df)) (Maydeu-Olivares & Joe 2014). SRMSR (Maydeu-Olivares 2013): the root
mean square over pairs j < k of the difference between the observed and the model-implied correlations,
r_jk = (π_jk − π_j π_k) / √(π_j (1 − π_j) π_k (1 − π_k)).

Complete data only (every person answered every item), as the statistic is defined. The cost grows with the
square of the number of margins: ``MAX_ITEMS`` bounds it.
Checked against R mirt's tests (LSAT7 2PL M2 11.93841, df 5; LSAT6 common-slope 1PL 5.292566, df 9).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from certbank_core.errors import InputError, Problem

#: Above this many items M2 is not computed (Γ₂ would have (k(k+1)/2)² entries).
MAX_ITEMS = 60


@dataclass(frozen=True)
class LimitedInformationFit:
    """M2 with its df and p-value, RMSEA2 and SRMSR."""

    m2: float
    df: int
    p_value: float
    rmsea: float
    srmsr: float
    n_persons: int

    def summary(self) -> dict:
        return {"m2": self.m2, "m2_df": self.df, "m2_p_value": self.p_value, "rmsea2": self.rmsea,
                "srmsr": self.srmsr}


def _irf(theta, a, b, c, D):
    """(n_items, n_nodes) P_j(θ_q) = c + (1 − c) / (1 + exp(−D a (θ − b)))."""
    z = D * a[:, None] * (theta[None, :] - b[:, None])
    return c[:, None] + (1 - c[:, None]) / (1 + np.exp(-z))


def _pairs(k):
    j, l = np.triu_indices(k, 1)
    first = np.concatenate([np.arange(k), j])
    second = np.concatenate([np.arange(k), l])
    return first, second            # moment u is the product of items first[u] and second[u] (equal: univariate)


def _margins(p, w, first, second):
    """π₂ (n_moments,) from P (k, Q) and weights (Q,)."""
    prod = np.where((first == second)[:, None], p[first], p[first] * p[second])
    return prod @ w


def _gamma(p, w, first, second):
    """Γ₂ (n_m, n_m): π_{A∪B} − π_A π_B, π_{A∪B} = Σ_q w_q Π_{j∈A∪B} P_jq."""
    k = p.shape[0]
    n_m = first.size
    member = np.zeros((n_m, k))
    member[np.arange(n_m), first] = 1.0
    member[np.arange(n_m), second] = 1.0
    logp = np.log(np.clip(p, 1e-300, None))
    L = member @ logp                                        # (n_m, Q): log Π_{j∈A} P_j
    uni = first == second
    xi = np.zeros((n_m, n_m))
    in_first = member[:, first].T                            # [u, v]: item first[u] ∈ set v
    in_second = member[:, second].T * (~uni)[:, None]        # [u, v]: item second[u] (≠ first[u]) ∈ set v
    for q in range(p.shape[1]):
        inter = in_first * logp[first, q][:, None] + in_second * logp[second, q][:, None]
        xi += w[q] * np.exp(L[:, q][:, None] + L[:, q][None, :] - inter)
    pi = np.exp(L) @ w
    return xi - np.outer(pi, pi), pi


def _parameter_map(cal):
    """(vector, function vector → (a, b, c, mean, sd)) of the calibration's free parameters."""
    a0, b0, c0 = (np.asarray(v, dtype=float) for v in (cal.a, cal.b, cal.c))
    free = ~np.asarray(cal.fixed, dtype=bool)
    fj = np.flatnonzero(free)
    model = cal.model
    mean0, sd0 = float(cal.latent_mean), float(cal.latent_sd)
    blocks = [("b", fj)]
    if model == "2pl" or model == "3pl":
        blocks.append(("a", fj))
    if model == "3pl":
        blocks.append(("c", fj[c0[fj] > 1e-6]))            # an asymptote at its bound is not free
    if model == "1pl":
        blocks.append(("a_common", np.array([0])))
    anchored = not free.all()
    n_item_par = sum(idx.size for _, idx in blocks)
    extra = cal.n_parameters - n_item_par
    if model == "rasch" and extra >= 1:
        blocks.append(("sd", np.array([0])))
    if anchored:
        blocks.append(("mean", np.array([0])))
        blocks.append(("sd", np.array([0])))
    v0 = []
    for name, idx in blocks:
        v0.append({"b": b0, "a": a0, "c": c0}.get(name, None)[idx] if name in "bac" else
                  np.array([{"a_common": a0[0], "sd": sd0, "mean": mean0}[name]]))
    v0 = np.concatenate(v0)

    def unpack(v):
        a, b, c = a0.copy(), b0.copy(), c0.copy()
        mean, sd = mean0, sd0
        pos = 0
        for name, idx in blocks:
            n = idx.size
            part = v[pos:pos + n]
            pos += n
            if name == "b":
                b[idx] = part
            elif name == "a":
                a[idx] = part
            elif name == "c":
                c[idx] = part
            elif name == "a_common":
                a[:] = part[0]
            elif name == "sd":
                sd = part[0]
            elif name == "mean":
                mean = part[0]
        return a, b, c, mean, sd

    return v0, unpack


def m2(responses, calibration) -> LimitedInformationFit:
    """M2, RMSEA2 and SRMSR of a ``Calibration`` (from ``estimation.calibrate``) on its complete 0/1 data.

    responses: (n_persons, n_items) of 0/1, the data the calibration was fitted to."""
    x = np.asarray(responses, dtype=float)
    if np.isnan(x).any():
        raise InputError(Problem("M2 needs complete responses: every candidate answered every item"))
    n, k = x.shape
    if k != len(calibration.item_ids):
        raise InputError(Problem("the responses and the calibration have different numbers of items"))
    if k > MAX_ITEMS:
        raise InputError(Problem(f"M2 is computed for at most {MAX_ITEMS} items; this test has {k}"))
    if k < 3:
        raise InputError(Problem("M2 needs at least 3 items"))
    first, second = _pairs(k)
    D = calibration.D
    quad = calibration.quadrature
    v0, unpack = _parameter_map(calibration)

    def margins(v):
        a, b, c, mean, sd = unpack(v)
        theta, w = quad.grid_for(mean, sd)
        return _margins(_irf(theta, a, b, c, D), w, first, second)

    a, b, c, mean, sd = unpack(v0)
    theta, w = quad.grid_for(mean, sd)
    p = _irf(theta, a, b, c, D)
    gamma, pi = _gamma(p, w, first, second)
    h = 1e-5
    delta = np.empty((pi.size, v0.size))
    for i in range(v0.size):
        e = np.zeros_like(v0)
        e[i] = h
        delta[:, i] = (margins(v0 + e) - margins(v0 - e)) / (2 * h)
    obs = np.where((first == second)[None, :], x[:, first], x[:, first] * x[:, second]).mean(axis=0)
    resid = obs - pi
    gi_r = np.linalg.solve(gamma, resid)
    gi_d = np.linalg.solve(gamma, delta)
    middle = delta.T @ gi_d
    proj = delta.T @ gi_r
    stat = float(n * (resid @ gi_r - proj @ np.linalg.solve(middle, proj)))
    df = int(pi.size - np.linalg.matrix_rank(delta))
    rmsea = float(np.sqrt(max(stat - df, 0.0) / (n * df))) if df > 0 else float("nan")
    from scipy.special import chdtrc  # the χ² upper tail without importing scipy.stats (0.6 s)

    pval = float(chdtrc(df, stat)) if df > 0 else float("nan")
    # SRMSR over the pairs
    uni_obs, uni_pi = obs[:k], pi[:k]
    pair_obs, pair_pi = obs[k:], pi[k:]
    j, l = first[k:], second[k:]
    r_obs = (pair_obs - uni_obs[j] * uni_obs[l]) / np.sqrt(uni_obs[j] * (1 - uni_obs[j]) * uni_obs[l] * (1 - uni_obs[l]))
    r_mod = (pair_pi - uni_pi[j] * uni_pi[l]) / np.sqrt(uni_pi[j] * (1 - uni_pi[j]) * uni_pi[l] * (1 - uni_pi[l]))
    srmsr = float(np.sqrt(np.mean((r_obs - r_mod) ** 2)))
    return LimitedInformationFit(stat, df, pval, rmsea, srmsr, n)


def overall_fit_summary(responses, calibration) -> dict:
    """What calibration.json reports on the whole model: M2, its df and p-value, RMSEA2 and SRMSR (or why they
    were not computed), and the empirical reliability of EAP and of summed-score EAP (``reliability.py``)."""
    from psychometrics.irt.reliability import empirical_reliability, summed_score_reliability
    from psychometrics.irt.scoring import eap, summed_score_eap

    x = np.asarray(responses, dtype=float)
    out: dict = {}
    try:
        out.update(m2(x, calibration).summary())
    except InputError as err:
        out["m2"] = None
        out["m2_note"] = str(err)
    except np.linalg.LinAlgError:
        out["m2"] = None
        out["m2_note"] = "M2 not computed: the margins' covariance matrix is singular"
    grid = dict(quadrature=calibration.quadrature, prior_mean=calibration.latent_mean,
                prior_sd=calibration.latent_sd)
    scores = eap(x, calibration.a, calibration.b, calibration.c, D=calibration.D, **grid)
    out["empirical_reliability_eap"] = empirical_reliability(scores.theta, scores.se)
    complete = ~np.isnan(x).any(axis=1)
    if complete.sum() > 1:
        table = summed_score_eap(calibration.a, calibration.b, calibration.c, D=calibration.D, **grid)
        out["empirical_reliability_summed_score_eap"] = summed_score_reliability(
            x[complete].sum(axis=1).astype(int), table.theta, table.sd)
    return out
