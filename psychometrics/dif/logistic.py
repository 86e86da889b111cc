"""Logistic-regression DIF (Swaminathan & Rogers 1990): LR χ² tests and Nagelkerke ΔR² effect sizes.

Three nested models per item, fitted together by Newton–Raphson: M1 logit π = β₀ + β₁ s, M2 adds β₂ g,
M3 adds β₃ s·g (s = matching score, g = 1 for the focal group). ΔR² classes: Zumbo & Thomas (1997) and
Jodoin & Gierl (2001); R² of Nagelkerke (1991). ``psychometrics.dif.analysis`` re-exports every public name here.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import stats

# ---- named constants (one place) ---------------------------------------------------------------------------
#: Zumbo & Thomas (1997) Nagelkerke ΔR² bounds: A < .13 ≤ B ≤ .26 < C.
ZUMBO_THOMAS_B, ZUMBO_THOMAS_C = 0.13, 0.26
#: Jodoin & Gierl (2001) Nagelkerke ΔR² bounds: A < .035 ≤ B ≤ .07 < C.
JODOIN_GIERL_B, JODOIN_GIERL_C = 0.035, 0.07
#: Newton–Raphson for the logistic models.
_LOGISTIC_MAX_ITER = 50
_LOGISTIC_TOL = 1e-10


def fit_logistic_batch(X: np.ndarray, y: np.ndarray, weight: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Maximum-likelihood logistic regressions, one per item, fitted together by Newton–Raphson.

    X: (n_persons, n_items, n_par) design; y: (n_persons, n_items) 0/1; weight: (n_persons, n_items) 0/1
    (0 = not presented). Returns (log_likelihood (n_items,), beta (n_items, n_par)).
    Log-likelihood Σ w [y η − ln(1 + e^η)], η = X β; Newton step β += (XᵀWX)⁻¹ Xᵀ(y − π) with W = w π(1 − π),
    step-halved whenever the likelihood would drop. Under complete separation the likelihood approaches its
    supremum while β grows; iterations are capped and the likelihood returned is then within tolerance of it.
    """
    n_persons, n_items, n_par = X.shape
    y = np.where(weight > 0, y, 0.0)
    mean = (weight * y).sum(0) / np.maximum(weight.sum(0), 1)
    beta = np.zeros((n_items, n_par))
    beta[:, 0] = np.log(np.clip(mean, 1e-6, 1 - 1e-6) / (1 - np.clip(mean, 1e-6, 1 - 1e-6)))

    def loglik(b):
        eta = np.einsum("nip,ip->ni", X, b)
        return (weight * (y * eta - np.logaddexp(0.0, eta))).sum(0), eta

    ll, eta = loglik(beta)
    ridge = 1e-9 * np.eye(n_par)
    for _ in range(_LOGISTIC_MAX_ITER):
        pi = 1.0 / (1.0 + np.exp(-eta))
        grad = np.einsum("nip,ni->ip", X, weight * (y - pi))
        hess = np.einsum("nip,ni,niq->ipq", X, weight * pi * (1 - pi), X) + ridge
        step = np.linalg.solve(hess, grad[..., None])[..., 0]
        scale = np.ones(n_items)
        new_beta = beta + step
        new_ll, new_eta = loglik(new_beta)
        slack = _LOGISTIC_TOL * (1.0 + np.abs(ll))  # rounding noise is not a worse fit
        for _halving in range(20):  # loops over halvings, not persons
            worse = new_ll < ll - slack
            if not worse.any():
                break
            scale = np.where(worse, scale / 2, scale)
            new_beta = beta + scale[:, None] * step
            new_ll, new_eta = loglik(new_beta)
        gain = new_ll - ll
        beta, ll, eta = new_beta, new_ll, new_eta
        if np.all(np.abs(gain) < slack):
            break
    return ll, beta


def nagelkerke_r2(ll_model, ll_null, n) -> np.ndarray:
    """Nagelkerke (1991) R²: R²_CS / max R²_CS with R²_CS = 1 − exp(2(ℓ₀ − ℓ)/n), max = 1 − exp(2ℓ₀/n)."""
    ll_model, ll_null, n = (np.asarray(v, float) for v in (ll_model, ll_null, n))
    with np.errstate(invalid="ignore", divide="ignore"):
        cox_snell = 1 - np.exp(2 * (ll_null - ll_model) / n)
        return cox_snell / (1 - np.exp(2 * ll_null / n))


@dataclass(frozen=True)
class LogisticDif:
    """Per-item logistic-regression DIF (Swaminathan & Rogers 1990), each (n_items,).

    Models: M1 logit π = β₀ + β₁ s; M2 adds β₂ g; M3 adds β₃ s·g (s = matching score, g = 1 focal).
    """

    loglik: np.ndarray          # (n_items, 3): ℓ(M1), ℓ(M2), ℓ(M3)
    chi2_uniform: np.ndarray    # 2(ℓ₂ − ℓ₁), 1 df
    chi2_nonuniform: np.ndarray  # 2(ℓ₃ − ℓ₂), 1 df
    chi2_both: np.ndarray       # 2(ℓ₃ − ℓ₁), 2 df
    p_uniform: np.ndarray
    p_nonuniform: np.ndarray
    p_both: np.ndarray
    delta_r2_uniform: np.ndarray
    delta_r2_nonuniform: np.ndarray
    delta_r2_both: np.ndarray
    group_coefficient: np.ndarray  # β₂ of M2: < 0 means harder for the focal group


def logistic_dif(scored: np.ndarray, focal: np.ndarray, match: np.ndarray) -> LogisticDif:
    """Fit M1, M2, M3 for every item at once and return LR χ² and Nagelkerke ΔR² (Zumbo 1999).

    scored: (n_persons, n_items) 0/1/NaN; focal: (n_persons,) bool; match: (n_persons, n_items).
    The matching score is centred and scaled before fitting; that changes β but not ℓ, χ² or R².
    """
    w = (~np.isnan(scored)).astype(float)
    y = np.nan_to_num(scored, nan=0.0)
    s = match.astype(float)
    s = (s - s.mean()) / (s.std() or 1.0)
    g = np.broadcast_to(focal.astype(float)[:, None], s.shape)
    one = np.ones_like(s)
    X3 = np.stack([one, s, g, s * g], axis=2)
    ll1, _ = fit_logistic_batch(X3[:, :, :2], y, w)
    ll2, b2 = fit_logistic_batch(X3[:, :, :3], y, w)
    ll3, _ = fit_logistic_batch(X3, y, w)
    n = w.sum(0)
    n1 = (w * y).sum(0)
    with np.errstate(divide="ignore", invalid="ignore"):
        ll0 = np.where((n1 > 0) & (n1 < n), n1 * np.log(n1 / n) + (n - n1) * np.log1p(-n1 / n), 0.0)
    degenerate = (n1 == 0) | (n1 == n)
    with np.errstate(invalid="ignore"):
        r2 = [np.where(degenerate, np.nan, nagelkerke_r2(ll, ll0, n)) for ll in (ll1, ll2, ll3)]
    chi_u = np.maximum(2 * (ll2 - ll1), 0.0)
    chi_n = np.maximum(2 * (ll3 - ll2), 0.0)
    chi_b = np.maximum(2 * (ll3 - ll1), 0.0)
    nan_if = lambda a: np.where(degenerate, np.nan, a)  # noqa: E731  (no variance: nothing to test)
    chi_u, chi_n, chi_b = nan_if(chi_u), nan_if(chi_n), nan_if(chi_b)
    return LogisticDif(
        loglik=np.stack([ll1, ll2, ll3], axis=1), chi2_uniform=chi_u, chi2_nonuniform=chi_n, chi2_both=chi_b,
        p_uniform=stats.chi2.sf(chi_u, 1), p_nonuniform=stats.chi2.sf(chi_n, 1), p_both=stats.chi2.sf(chi_b, 2),
        delta_r2_uniform=nan_if(r2[1] - r2[0]), delta_r2_nonuniform=nan_if(r2[2] - r2[1]),
        delta_r2_both=nan_if(r2[2] - r2[0]), group_coefficient=nan_if(b2[:, 2]))


def effect_size_class(delta_r2, significant, b_bound: float, c_bound: float) -> np.ndarray:
    """A/B/C from Nagelkerke ΔR² and the 2-df LR test: B needs ΔR² ≥ b_bound, C ΔR² > c_bound, and both
    a significant test (Zumbo & Thomas 1997; Jodoin & Gierl 2001). Not estimable → ""."""
    r2 = np.asarray(delta_r2, float)
    sig = np.asarray(significant, bool)
    out = np.where(sig & (r2 > c_bound), "C", np.where(sig & (r2 >= b_bound), "B", "A")).astype(object)
    out[~np.isfinite(r2)] = ""
    return out
