"""Differential item functioning (DIF) between a reference and a focal group.

Three methods run on the same matching score (the number-correct total, optionally purified):

- Mantel–Haenszel (Mantel & Haenszel 1959; Holland & Thayer 1988) with the ETS A/B/C rule
  (Dorans & Holland 1993; Zwick 2012, ETS RR-12-08), its significance tests included.
- Logistic regression (Swaminathan & Rogers 1990) with likelihood-ratio tests and Nagelkerke ΔR², classified
  by Zumbo & Thomas (1997) and by Jodoin & Gierl (2001).
- Standardization STD P-DIF (Dorans & Kulick 1986), focal-group weighted, as a descriptive index.

Sign convention (the ETS one): the odds ratio α_MH is reference odds over focal odds, so α_MH > 1 and
**Δ_MH < 0 mean the item is harder for the focal group** than for reference takers of the same total score
(DIF against the focal group); STD P-DIF < 0 says the same on the proportion-correct scale.

Inputs are plain arrays: ``scored`` (n_persons, n_items) of 1/0 with NaN for not presented, and ``focal``
(n_persons,) bool, True for the focal group and False for the reference group. A person is left out of an
item's analysis when the item was not presented to them; their total counts the items they did take.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd
from scipy import stats

from itembank.errors import InputError

# ---- named constants (one place) ---------------------------------------------------------------------------
#: Δ_MH = DELTA_PER_LOG_ODDS · ln α_MH puts the common odds ratio on the ETS delta scale (Holland & Thayer 1988).
DELTA_PER_LOG_ODDS = -2.35
#: ETS rule thresholds on |Δ_MH| (Dorans & Holland 1993; Zwick 2012): below B is A, at least C may be C.
ETS_B_MIN_ABS_DELTA = 1.0
ETS_C_MIN_ABS_DELTA = 1.5
#: Default significance level of every test (MH χ², LR χ², and the one-sided "|Δ| > 1" test of class C).
DEFAULT_ALPHA = 0.05
#: Zumbo & Thomas (1997) Nagelkerke ΔR² bounds: A < .13 ≤ B ≤ .26 < C.
ZUMBO_THOMAS_B, ZUMBO_THOMAS_C = 0.13, 0.26
#: Jodoin & Gierl (2001) Nagelkerke ΔR² bounds: A < .035 ≤ B ≤ .07 < C.
JODOIN_GIERL_B, JODOIN_GIERL_C = 0.035, 0.07
#: Group sizes below these give a warning (rules of thumb for stable MH/LR estimates; Zwick 2012 discusses
#: the instability of small focal groups). An empty group is an error.
MIN_REFERENCE_N = 200
MIN_FOCAL_N = 100
#: Purification stops when the DIF set repeats or after this many re-analyses (difR uses 10 as well).
MAX_PURIFICATION_ITERATIONS = 10
#: Newton–Raphson for the logistic models.
_LOGISTIC_MAX_ITER = 50
_LOGISTIC_TOL = 1e-10
ADJUST_METHODS = ("bh", "holm")

LANGUAGE_NAMES = {"en": "English", "es": "Spanish", "fr": "French", "pt": "Portuguese", "zh": "Chinese",
                  "vi": "Vietnamese", "ko": "Korean", "ru": "Russian", "ar": "Arabic", "ht": "Haitian Creole"}


# ---- group handling ------------------------------------------------------------------------------------------
def split_groups(labels, focal, reference=None) -> tuple[np.ndarray, np.ndarray]:
    """Turn group labels into (included, focal_mask), both (n_persons,) bool.

    ``focal`` is the focal label; ``reference`` the reference label, or None for "everyone else".
    Persons with a missing label (NaN/None/'') are excluded. Labels are compared as stripped strings so
    that ``1`` and ``"1"`` match.
    """
    lab = pd.Series(np.asarray(labels, dtype=object))
    text = lab.astype(str).str.strip().to_numpy()
    missing = lab.isna().to_numpy() | (text == "")
    is_focal = (text == str(focal).strip()) & ~missing
    if reference is None:
        is_ref = ~is_focal & ~missing
    else:
        is_ref = (text == str(reference).strip()) & ~missing
    return is_focal | is_ref, is_focal


def _check_inputs(scored, focal) -> tuple[np.ndarray, np.ndarray]:
    scored = np.asarray(scored, dtype=float)
    focal = np.asarray(focal)
    if scored.ndim != 2:
        raise InputError(f"scored responses must be a persons × items table, got {scored.ndim} dimension(s).")
    if focal.shape != (scored.shape[0],):
        raise InputError(f"the group vector has {focal.size} entries but there are {scored.shape[0]} persons.")
    focal = focal.astype(bool)
    ok = np.isnan(scored) | (scored == 0) | (scored == 1)
    if not ok.all():
        raise InputError("scored responses must be 0, 1 or blank (not presented); found other values.")
    problems = []
    if not focal.any():
        problems.append("the focal group is empty: nobody has the focal group value.")
    if focal.all():
        problems.append("the reference group is empty: everyone is in the focal group.")
    if problems:
        raise InputError(problems)
    return scored, focal


# ---- matching score ------------------------------------------------------------------------------------------
def matching_scores(scored: np.ndarray, anchor: np.ndarray | None = None) -> np.ndarray:
    """Matching score of every person for every studied item: (n_persons, n_items) int.

    The score is the number correct on the anchor items plus the studied item itself when it is not an anchor,
    so the studied item is always part of its own matching criterion (Holland & Thayer 1988; Zwick 2012 §2:
    leaving it out biases MH under the Rasch model). Without purification every item is an anchor and the
    score is the plain total. Not-presented items (NaN) count 0.
    """
    x = np.nan_to_num(scored, nan=0.0)
    n_items = x.shape[1]
    anchor = np.ones(n_items, bool) if anchor is None else np.asarray(anchor, bool)
    anchor_total = x[:, anchor].sum(axis=1)
    match = anchor_total[:, None] + np.where(anchor[None, :], 0.0, x)
    return np.rint(match).astype(np.int64)


# ---- Mantel–Haenszel -----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class StratumTables:
    """The 2×2×K tables of every item, named as in Holland & Thayer (1988). Each array is (n_items, K).

    A_k: reference right, B_k: reference wrong, C_k: focal right, D_k: focal wrong; T_k = A+B+C+D.
    """

    A: np.ndarray
    B: np.ndarray
    C: np.ndarray
    D: np.ndarray

    @property
    def T(self) -> np.ndarray:
        return self.A + self.B + self.C + self.D


def stratum_tables(scored: np.ndarray, focal: np.ndarray, match: np.ndarray) -> StratumTables:
    """Count A_k, B_k, C_k, D_k per item and score stratum k = 0..max(match), vectorized with bincount.

    scored: (n_persons, n_items) 0/1/NaN; focal: (n_persons,) bool; match: (n_persons, n_items) int.
    """
    n_persons, n_items = scored.shape
    n_strata = int(match.max()) + 1 if match.size else 1
    cell = np.arange(n_items)[None, :] * n_strata + match  # one bin per (item, stratum)
    presented = ~np.isnan(scored)
    right = presented & (scored == 1)
    wrong = presented & (scored == 0)
    ref = ~focal[:, None]
    size = n_items * n_strata

    def count(mask):
        return np.bincount(cell[mask], minlength=size).reshape(n_items, n_strata).astype(float)

    return StratumTables(A=count(right & ref), B=count(wrong & ref), C=count(right & ~ref), D=count(wrong & ~ref))


@dataclass(frozen=True)
class MantelHaenszel:
    """Per-item MH results, each (n_items,)."""

    chi2: np.ndarray
    p_value: np.ndarray
    alpha_mh: np.ndarray
    delta_mh: np.ndarray
    delta_se: np.ndarray
    var_log_alpha: np.ndarray


def mantel_haenszel(tables: StratumTables, correct: bool = True) -> MantelHaenszel:
    """MH χ², common odds ratio α_MH, Δ_MH and its SE, from the stratum tables.

    With n_Rk = A_k+B_k, n_Fk = C_k+D_k, m_1k = A_k+C_k, m_0k = B_k+D_k, over strata with T_k ≥ 2
    (Holland & Thayer 1988, eqs. 2–4):

        E(A_k) = n_Rk m_1k / T_k,     Var(A_k) = n_Rk n_Fk m_1k m_0k / (T_k² (T_k − 1))
        χ²_MH = (|Σ A_k − Σ E(A_k)| − ½)² / Σ Var(A_k)          (continuity-corrected, 1 df)
        α_MH  = Σ (A_k D_k / T_k) / Σ (B_k C_k / T_k)
        Δ_MH  = −2.35 ln α_MH

    The correction is min(½, |Σ A − Σ E|) so it never overshoots zero (as R's ``mantelhaen.test``).
    Var(ln α_MH) is the Robins–Breslow–Greenland (1986) estimator, which equals the Phillips & Holland (1987)
    form used for Δ in Dorans & Holland (1993): with P_k = (A_k+D_k)/T_k, Q_k = (B_k+C_k)/T_k,
    R_k = A_k D_k/T_k, S_k = B_k C_k/T_k, R = ΣR_k, S = ΣS_k,

        Var(ln α) = Σ P_k R_k / (2R²) + Σ (P_k S_k + Q_k R_k) / (2RS) + Σ Q_k S_k / (2S²),
        SE(Δ_MH) = 2.35 · sqrt(Var(ln α)).
    """
    A, B, C, D = tables.A, tables.B, tables.C, tables.D
    T = tables.T
    use = T >= 2  # a single person carries no within-stratum information (and Var divides by T−1)
    Ts = np.where(use, T, 1.0)
    n_r, n_f, m1, m0 = A + B, C + D, A + C, B + D
    expected = np.where(use, n_r * m1 / Ts, 0.0)
    var_a = np.where(use, n_r * n_f * m1 * m0 / (Ts ** 2 * np.maximum(Ts - 1.0, 1.0)), 0.0)
    diff = np.abs((np.where(use, A, 0.0) - expected).sum(axis=1))
    var_sum = var_a.sum(axis=1)
    correction = np.minimum(0.5, diff) if correct else 0.0
    with np.errstate(divide="ignore", invalid="ignore"):
        chi2 = np.where(var_sum > 0, (diff - correction) ** 2 / var_sum, np.nan)
        R_k = np.where(use, A * D / Ts, 0.0)
        S_k = np.where(use, B * C / Ts, 0.0)
        P_k = np.where(use, (A + D) / Ts, 0.0)
        Q_k = np.where(use, (B + C) / Ts, 0.0)
        R, S = R_k.sum(axis=1), S_k.sum(axis=1)
        alpha = np.where((R > 0) & (S > 0), R / S, np.nan)
        var_log = ((P_k * R_k).sum(axis=1) / (2 * R ** 2)
                   + (P_k * S_k + Q_k * R_k).sum(axis=1) / (2 * R * S)
                   + (Q_k * S_k).sum(axis=1) / (2 * S ** 2))
        var_log = np.where(np.isfinite(alpha), var_log, np.nan)
        delta = DELTA_PER_LOG_ODDS * np.log(alpha)
    p = stats.chi2.sf(chi2, 1)
    return MantelHaenszel(chi2=chi2, p_value=p, alpha_mh=alpha, delta_mh=delta,
                          delta_se=-DELTA_PER_LOG_ODDS * np.sqrt(var_log), var_log_alpha=var_log)


def ets_classify(delta, delta_se, p_value, alpha: float = DEFAULT_ALPHA) -> tuple[np.ndarray, np.ndarray]:
    """The ETS A/B/C rule with its significance tests (Dorans & Holland 1993; Zwick 2012, p. 2).

    A: |Δ| < 1, or Δ not significantly different from 0 (MH χ² p ≥ alpha);
    C: |Δ| ≥ 1.5 and |Δ| significantly greater than 1: (|Δ| − 1) / SE(Δ) > z_(1−alpha) (one-sided);
    B: otherwise.
    Returns (level, signed_class), both (n_items,) str. The signed class appends "-" when Δ < 0 (the item
    disadvantages the focal group) and "+" when Δ > 0 (it disadvantages the reference group), as ETS reports
    B−/C+; A is unsigned. Items whose Δ cannot be estimated get "" in both.
    """
    delta, se, p = (np.asarray(v, float) for v in (delta, delta_se, p_value))
    z_crit = stats.norm.ppf(1 - alpha)
    absd = np.abs(delta)
    with np.errstate(invalid="ignore", divide="ignore"):
        is_a = (absd < ETS_B_MIN_ABS_DELTA) | ~(p < alpha)
        is_c = ~is_a & (absd >= ETS_C_MIN_ABS_DELTA) & ((absd - ETS_B_MIN_ABS_DELTA) / se > z_crit)
    level = np.where(is_a, "A", np.where(is_c, "C", "B")).astype(object)
    sign = np.where(delta < 0, "-", "+")
    signed = np.where(level == "A", "A", level + sign).astype(object)
    unknown = ~np.isfinite(delta)
    level[unknown] = ""
    signed[unknown] = ""
    return level, signed


# ---- logistic regression -------------------------------------------------------------------------------------
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


# ---- standardization -----------------------------------------------------------------------------------------
def std_p_dif(tables: StratumTables) -> np.ndarray:
    """STD P-DIF = Σ_k n_Fk (P_Fk − P_Rk) / Σ_k n_Fk over strata holding both groups (Dorans & Kulick 1986),
    with P_Fk = C_k / n_Fk and P_Rk = A_k / n_Rk. Negative: the focal group does worse than matched reference
    takers. Returns (n_items,)."""
    n_r = tables.A + tables.B
    n_f = tables.C + tables.D
    both = (n_r > 0) & (n_f > 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        gap = np.where(both, tables.C / np.where(both, n_f, 1) - tables.A / np.where(both, n_r, 1), 0.0)
        weight = np.where(both, n_f, 0.0)
        return (weight * gap).sum(1) / weight.sum(1)


# ---- multiple comparisons ------------------------------------------------------------------------------------
def adjust_p_values(p, method: str | None) -> np.ndarray:
    """Adjusted p-values; NaN entries are left out of the family and stay NaN.

    "bh": Benjamini & Hochberg (1995) step-up, p̃_(i) = min_{j ≥ i} min(1, m p_(j) / j);
    "holm": Holm (1979) step-down, p̃_(i) = max_{j ≤ i} min(1, (m − j + 1) p_(j)); None: unchanged.
    """
    p = np.asarray(p, float)
    if method is None:
        return p.copy()
    method = method.lower()
    if method not in ADJUST_METHODS:
        raise InputError(f"unknown p-value adjustment '{method}'; use one of: {', '.join(ADJUST_METHODS)}.")
    out = np.full_like(p, np.nan)
    ok = np.isfinite(p)
    vals = p[ok]
    m = vals.size
    if m == 0:
        return out
    order = np.argsort(vals, kind="stable")
    ranked = vals[order]
    i = np.arange(1, m + 1)
    if method == "bh":
        adj = np.minimum.accumulate((m * ranked / i)[::-1])[::-1]
    else:
        adj = np.maximum.accumulate((m - i + 1) * ranked)
    res = np.empty(m)
    res[order] = np.minimum(adj, 1.0)
    out[ok] = res
    return out


# ---- the whole analysis --------------------------------------------------------------------------------------
FRAME_COLUMNS = ("item_id", "n_ref", "n_focal", "mh_chi2", "mh_p", "alpha_mh", "delta_mh", "delta_se",
                 "ets_class", "lr_chi2_uniform", "lr_chi2_nonuniform", "lr_chi2_both", "lr_p", "delta_r2",
                 "zt_class", "jg_class", "std_p_dif", "flagged")
EXTRA_COLUMNS = ("ets_level", "mh_p_adjusted", "lr_p_adjusted", "lr_p_uniform", "lr_p_nonuniform",
                 "delta_r2_uniform", "delta_r2_nonuniform", "disadvantaged", "in_anchor")


def _frozen(a) -> np.ndarray:
    a = np.array(a)
    a.setflags(write=False)
    return a


@dataclass(frozen=True)
class DifResult:
    """DIF of every item between one reference and one focal group. Arrays are (n_items,).

    ``flagged`` is True for ETS class B or C, or a significant 2-df LR test with a Jodoin–Gierl class of B or C
    (significance after the requested p-value adjustment). ``warnings`` lists small groups, items that could not
    be analysed, and purification that did not converge.
    """

    item_ids: tuple[str, ...]
    reference_label: str
    focal_label: str
    n_reference: int
    n_focal_total: int
    n_ref: np.ndarray
    n_focal: np.ndarray
    mh_chi2: np.ndarray
    mh_p: np.ndarray
    mh_p_adjusted: np.ndarray
    alpha_mh: np.ndarray
    delta_mh: np.ndarray
    delta_se: np.ndarray
    ets_level: np.ndarray
    ets_class: np.ndarray
    lr_chi2_uniform: np.ndarray
    lr_chi2_nonuniform: np.ndarray
    lr_chi2_both: np.ndarray
    lr_p: np.ndarray
    lr_p_adjusted: np.ndarray
    lr_p_uniform: np.ndarray
    lr_p_nonuniform: np.ndarray
    delta_r2: np.ndarray
    delta_r2_uniform: np.ndarray
    delta_r2_nonuniform: np.ndarray
    zt_class: np.ndarray
    jg_class: np.ndarray
    std_p_dif: np.ndarray
    flagged: np.ndarray
    in_anchor: np.ndarray
    alpha: float = DEFAULT_ALPHA
    adjust: str | None = None
    purified: bool = False
    purification_iterations: int = 0
    purification_converged: bool = True
    warnings: tuple[str, ...] = field(default_factory=tuple)
    #: which groups were compared, as the shared Flag.group ('language=es', 'gender=1', or 'focal').
    comparison: str = "focal"

    @property
    def disadvantaged(self) -> np.ndarray:
        """Which group the item works against, by the sign of Δ_MH ('' for ETS class A)."""
        out = np.where(self.delta_mh < 0, self.focal_label, self.reference_label).astype(object)
        out[(self.ets_level == "A") | (self.ets_level == "")] = ""
        return out

    def to_frame(self, texts: pd.DataFrame | None = None) -> pd.DataFrame:
        """One row per item: the FRAME_COLUMNS in order, then EXTRA_COLUMNS.

        ``texts`` (e.g. ``Bank.item_texts``: item_id, stem_en, stem_es, ...) adds its ``stem_*`` columns at the
        end, so reviewers read the two language versions side by side; items it lacks get ''.
        """
        data = {"item_id": list(self.item_ids)}
        for name in FRAME_COLUMNS[1:] + EXTRA_COLUMNS:
            data[name] = getattr(self, name)
        frame = pd.DataFrame(data)
        frame["flagged"] = frame["flagged"].astype(bool)
        frame["in_anchor"] = frame["in_anchor"].astype(bool)
        if texts is not None and len(texts):
            stems = [c for c in texts.columns if str(c).startswith("stem_")]
            by_id = texts.drop_duplicates("item_id").set_index("item_id")
            for col in stems:
                frame[col] = [str(by_id[col].get(i, "")) if i in by_id.index else "" for i in self.item_ids]
        return frame

    def flag_reasons(self) -> list[dict]:
        """One row per flagged item: item_id, code, severity, reason, suggested_action, value.

        MH classes B/C give codes DIF_MH_B / DIF_MH_C (value Δ_MH); items flagged by logistic regression only give
        DIF_LR_B / DIF_LR_C (value ΔR²). Severity (psychometrics.flags vocabulary): C → severe, B → review;
        action: C → revise (have bilingual experts compare the versions; revise or retire), B → keep (usable;
        prefer A items when assembling forms, Zwick 2012).
        """
        rows = []
        for j in np.flatnonzero(self.flagged):
            item = self.item_ids[j]
            level = self.ets_level[j]
            d = self.delta_mh[j]
            if level in ("B", "C"):
                harder_for, easier_for = ((self.focal_label, self.reference_label) if d < 0
                                          else (self.reference_label, self.focal_label))
                reason = (f"Item {item} is harder for {harder_for} takers than for {easier_for} takers of the same "
                          f"total score (ETS class {level}, Δ = {_fmt_signed(d)}).")
                code, value, grade = f"DIF_MH_{level}", float(d), level
            else:
                kind = "uniform" if self.lr_chi2_uniform[j] >= self.lr_chi2_nonuniform[j] else "nonuniform"
                reason = (f"Item {item} works differently for {self.reference_label} and {self.focal_label} takers "
                          f"of the same total score (logistic regression, mainly {kind} DIF, "
                          f"ΔR² = {self.delta_r2[j]:.3f}, Jodoin–Gierl class {self.jg_class[j]}).")
                code, value, grade = f"DIF_LR_{self.jg_class[j]}", float(self.delta_r2[j]), self.jg_class[j]
            severity, action = ("severe", "revise") if grade == "C" else ("review", "keep")
            rows.append({"item_id": item, "code": code, "severity": severity, "reason": reason,
                         "suggested_action": action, "value": value})
        return rows

    def flags(self):
        """DIF flags in the shared item-flag form: a list of ``psychometrics.flags.Flag`` when that type exists,
        else a DataFrame with item_id, code, severity, reason, suggested_action."""
        rows = self.flag_reasons()
        try:
            from psychometrics.flags import Flag
        except ImportError:  # pragma: no cover - the shared Flag type is optional for this module
            return pd.DataFrame(rows, columns=["item_id", "code", "severity", "reason", "suggested_action"])
        return [Flag(source="dif", group=self.comparison, **row) for row in rows]


def _fmt_signed(x: float) -> str:
    return f"{x:.1f}".replace("-", "−")


def group_display_name(value) -> str:
    """'es' → 'Spanish'; anything else as given."""
    text = str(value).strip()
    return LANGUAGE_NAMES.get(text.lower(), text)


def analyze_dif(scored, focal, item_ids=None, *, purify: bool = False, adjust: str | None = None,
                alpha: float = DEFAULT_ALPHA, reference_label: str = "reference", focal_label: str = "focal",
                correct: bool = True) -> DifResult:
    """Mantel–Haenszel, logistic-regression and standardization DIF for every item.

    scored: (n_persons, n_items) 1/0/NaN; focal: (n_persons,) bool (True = focal group).
    purify: iteratively drop items with a significant MH χ² (p < alpha) from the matching score, re-analyse,
    and stop when the DIF set repeats (Holland & Thayer 1988; Zwick 2012, §2.3; at most
    MAX_PURIFICATION_ITERATIONS re-analyses). All three methods then use the purified matching score.
    adjust: None, "bh" or "holm"; the adjusted MH p decides "significant" in the ETS A test and the adjusted
    LR p in the ΔR² classes and flags (the one-sided C test stays at alpha).
    Raises InputError when a group is empty or the data are not 0/1/NaN.
    """
    scored, focal = _check_inputs(scored, focal)
    n_persons, n_items = scored.shape
    item_ids = tuple(str(i) for i in (item_ids if item_ids is not None else [f"item{j + 1}" for j in range(n_items)]))
    if len(item_ids) != n_items:
        raise InputError(f"{len(item_ids)} item ids given for {n_items} items.")
    if adjust is not None and adjust.lower() not in ADJUST_METHODS:
        raise InputError(f"unknown p-value adjustment '{adjust}'; use one of: {', '.join(ADJUST_METHODS)}.")
    adjust = adjust.lower() if adjust else None
    warnings: list[str] = []

    anchor = np.ones(n_items, bool)
    iterations, converged = 0, True
    tables = stratum_tables(scored, focal, matching_scores(scored, anchor))
    mh = mantel_haenszel(tables, correct)
    if purify:
        seen = {tuple(anchor)}
        converged = False
        for iterations in range(1, MAX_PURIFICATION_ITERATIONS + 1):
            dif = mh.p_value < alpha
            new_anchor = ~dif
            if new_anchor.sum() == 0:
                warnings.append("Purification stopped: every item showed DIF, so no anchor items were left.")
                break
            if np.array_equal(new_anchor, anchor):
                converged = True
                break
            if tuple(new_anchor) in seen:
                warnings.append("Purification stopped: the set of DIF items started to cycle.")
                break
            seen.add(tuple(new_anchor))
            anchor = new_anchor
            tables = stratum_tables(scored, focal, matching_scores(scored, anchor))
            mh = mantel_haenszel(tables, correct)
        if not converged and not warnings:
            warnings.append(f"Purification did not converge in {MAX_PURIFICATION_ITERATIONS} iterations; "
                            "results use the last matching score.")
    match = matching_scores(scored, anchor)
    lr = logistic_dif(scored, focal, match)

    mh_p_adj = adjust_p_values(mh.p_value, adjust)
    lr_p_adj = adjust_p_values(lr.p_both, adjust)
    level, signed = ets_classify(mh.delta_mh, mh.delta_se, mh_p_adj, alpha)
    lr_sig = lr_p_adj < alpha
    zt = effect_size_class(lr.delta_r2_both, lr_sig, ZUMBO_THOMAS_B, ZUMBO_THOMAS_C)
    jg = effect_size_class(lr.delta_r2_both, lr_sig, JODOIN_GIERL_B, JODOIN_GIERL_C)
    flagged = np.isin(level, ["B", "C"]) | (lr_sig & np.isin(jg, ["B", "C"]))

    presented = ~np.isnan(scored)
    n_ref = (presented & ~focal[:, None]).sum(0)
    n_foc = (presented & focal[:, None]).sum(0)
    n_reference, n_focal_total = int((~focal).sum()), int(focal.sum())
    if n_reference < MIN_REFERENCE_N:
        warnings.append(f"The {reference_label} group has only {n_reference} takers (fewer than "
                        f"{MIN_REFERENCE_N}); DIF statistics are unstable at this size.")
    if n_focal_total < MIN_FOCAL_N:
        warnings.append(f"The {focal_label} group has only {n_focal_total} takers (fewer than {MIN_FOCAL_N}); "
                        "DIF statistics are unstable at this size.")
    if n_reference >= MIN_REFERENCE_N and n_focal_total >= MIN_FOCAL_N:
        thin = [item_ids[j] for j in np.flatnonzero((n_ref < MIN_REFERENCE_N) | (n_foc < MIN_FOCAL_N))]
        if thin:
            warnings.append(f"Fewer than {MIN_REFERENCE_N} {reference_label} or {MIN_FOCAL_N} {focal_label} takers "
                            "saw " + ", ".join(thin) + "; their DIF statistics are unstable.")
    bad = [item_ids[j] for j in np.flatnonzero(~np.isfinite(mh.delta_mh) | ~np.isfinite(lr.chi2_both))]
    if bad:
        warnings.append("DIF could not be estimated for " + ", ".join(bad) + " (everyone in a group or in every "
                        "score level got it right, or wrong, or it was not presented to both groups).")

    return DifResult(
        item_ids=item_ids, reference_label=reference_label, focal_label=focal_label, n_reference=n_reference,
        n_focal_total=n_focal_total, n_ref=_frozen(n_ref), n_focal=_frozen(n_foc), mh_chi2=_frozen(mh.chi2),
        mh_p=_frozen(mh.p_value), mh_p_adjusted=_frozen(mh_p_adj), alpha_mh=_frozen(mh.alpha_mh),
        delta_mh=_frozen(mh.delta_mh), delta_se=_frozen(mh.delta_se), ets_level=_frozen(level),
        ets_class=_frozen(signed), lr_chi2_uniform=_frozen(lr.chi2_uniform),
        lr_chi2_nonuniform=_frozen(lr.chi2_nonuniform), lr_chi2_both=_frozen(lr.chi2_both),
        lr_p=_frozen(lr.p_both), lr_p_adjusted=_frozen(lr_p_adj), lr_p_uniform=_frozen(lr.p_uniform),
        lr_p_nonuniform=_frozen(lr.p_nonuniform), delta_r2=_frozen(lr.delta_r2_both),
        delta_r2_uniform=_frozen(lr.delta_r2_uniform), delta_r2_nonuniform=_frozen(lr.delta_r2_nonuniform),
        zt_class=_frozen(zt), jg_class=_frozen(jg), std_p_dif=_frozen(std_p_dif(tables)),
        flagged=_frozen(flagged), in_anchor=_frozen(anchor), alpha=alpha, adjust=adjust, purified=purify,
        purification_iterations=iterations, purification_converged=converged, warnings=tuple(warnings))


# ---- from a response file --------------------------------------------------------------------------------------
#: The default grouping: language, English as reference and Spanish as focal, when both are present.
DEFAULT_GROUP_COLUMN = "language"
DEFAULT_REFERENCE, DEFAULT_FOCAL = "en", "es"


def analyze_responses(matrix, group: str | None = None, focal=None, reference=None, *, purify: bool = False,
                      adjust: str | None = None, alpha: float = DEFAULT_ALPHA) -> DifResult:
    """DIF for a ``psychometrics.responses.ResponseMatrix``, grouping persons by one of its group columns.

    Without ``group``: the ``language`` column with ``en`` as reference and ``es`` as focal, which must both be
    present. With ``group`` and no ``focal``: allowed only for ``language`` (focal ``es``). ``reference`` None
    means everyone not in the focal group (persons with a blank group value are left out).
    Raises InputError with every problem found (unknown column, missing focal value, empty group).
    """
    groups = matrix.groups
    columns = {str(c).lower(): c for c in groups.columns}
    problems = []
    if group is None:
        col = columns.get(DEFAULT_GROUP_COLUMN)
        if col is None:
            raise InputError("The response file has no 'language' column; choose the groups with --group COLUMN "
                             "--focal VALUE.")
        values = set(groups[col].astype(str).str.strip().str.lower())
        missing = [v for v in (DEFAULT_REFERENCE, DEFAULT_FOCAL) if v not in values]
        if missing:
            raise InputError(f"DIF by language needs both 'en' and 'es' takers, but the language column has no "
                             f"{' or '.join(repr(m) for m in missing)}; choose the groups with --group COLUMN "
                             "--focal VALUE.")
        group, focal, reference = col, DEFAULT_FOCAL, DEFAULT_REFERENCE
    else:
        col = columns.get(str(group).lower())
        if col is None:
            names = ", ".join(map(str, groups.columns)) or "none"
            raise InputError(f"The response file has no column '{group}' (group columns: {names}).")
        if focal is None:
            if str(col).lower() != DEFAULT_GROUP_COLUMN:
                raise InputError(f"Say which value of '{col}' is the focal group (--focal VALUE).")
            focal, reference = DEFAULT_FOCAL, DEFAULT_REFERENCE if reference is None else reference
        group = col
    labels = groups[group].astype(str).str.strip()
    is_language = str(group).lower() == DEFAULT_GROUP_COLUMN
    if is_language:
        labels = labels.str.lower()
        focal = str(focal).strip().lower()
        reference = None if reference is None else str(reference).strip().lower()
    included, is_focal = split_groups(labels.to_numpy(), focal, reference)
    if not is_focal.any():
        problems.append(f"No taker has {group} = '{focal}', so the focal group is empty.")
    if not (included & ~is_focal).any():
        what = f"{group} = '{reference}'" if reference is not None else f"{group} other than '{focal}'"
        problems.append(f"No taker has {what}, so the reference group is empty.")
    if problems:
        raise InputError(problems)
    if is_language:
        focal_label = group_display_name(focal)
        reference_label = group_display_name(reference) if reference is not None else f"non-{focal_label}"
    else:
        focal_label = f"{group} {focal}"
        reference_label = f"{group} {reference}" if reference is not None else f"{group} other than {focal}"
    result = analyze_dif(matrix.scored[included], is_focal[included], matrix.item_ids, purify=purify,
                         adjust=adjust, alpha=alpha, reference_label=reference_label, focal_label=focal_label)
    extra = []
    form_col = columns.get("form_id")
    if form_col is not None:
        n_forms = groups.loc[included, form_col].astype(str).nunique()
        if n_forms > 1:
            extra.append(f"The file holds {n_forms} forms: total scores from different forms are not on one "
                         "scale, so run DIF one form at a time (--form).")
    return replace(result, warnings=result.warnings + tuple(extra), comparison=f"{group}={focal}")
