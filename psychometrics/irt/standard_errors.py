"""Standard errors of calibrated item parameters.

The observed information is approximated by the cross-product of the persons' score vectors (XPD; mirt's
"crossprod"): each person's score of the marginal log-likelihood is exact by Fisher's identity (Louis 1982),
s_i = Σ_k w_ik ∂ log f(y_i | x_k) / ∂ψ, so I ≈ Σ_i f_i s_i s_iᵀ, plus the curvature of the priors. The
covariance of (α, d, γ) is carried to (a, b, c) by the delta method: a = α/D, b = −d/α, c = logistic(γ).
"""
from __future__ import annotations

import numpy as np

from psychometrics.irt.em import _irf, _Model, _sigmoid

SE_METHOD = ("XPD: inverse of the cross-product of person score vectors (Fisher's identity), "
             "plus prior curvature; delta method to a, b, c")


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
