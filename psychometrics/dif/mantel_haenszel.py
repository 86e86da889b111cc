"""Mantel–Haenszel DIF on the matching score, the ETS A/B/C rule, and standardization (STD P-DIF).

Sources: Mantel & Haenszel (1959); Holland & Thayer (1988) for α_MH, Δ_MH and the A/B/C/D notation;
Robins, Breslow & Greenland (1986) / Phillips & Holland (1987) for Var(ln α_MH); Dorans & Holland (1993) and
Zwick (2012, ETS RR-12-08) for the ETS rule; Dorans & Kulick (1986) for STD P-DIF.

Sign convention (ETS): α_MH is reference odds over focal odds, so α_MH > 1 and Δ_MH < 0 mean the item is harder
for the focal group. ``psychometrics.dif.analysis`` combines these with logistic regression into one analysis and
re-exports every public name here.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import stats

from certbank_core.errors import InputError

# ---- named constants (one place) ---------------------------------------------------------------------------
#: Δ_MH = DELTA_PER_LOG_ODDS · ln α_MH puts the common odds ratio on the ETS delta scale (Holland & Thayer 1988).
DELTA_PER_LOG_ODDS = -2.35
#: ETS rule thresholds on |Δ_MH| (Dorans & Holland 1993; Zwick 2012): below B is A, at least C may be C.
ETS_B_MIN_ABS_DELTA = 1.0
ETS_C_MIN_ABS_DELTA = 1.5
#: Default significance level of every test (MH χ², LR χ², and the one-sided "|Δ| > 1" test of class C).
DEFAULT_ALPHA = 0.05


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


def mantel_haenszel(tables: StratumTables, correct: bool | str = True) -> MantelHaenszel:
    """MH χ², common odds ratio α_MH, Δ_MH and its SE, from the stratum tables.

    With n_Rk = A_k+B_k, n_Fk = C_k+D_k, m_1k = A_k+C_k, m_0k = B_k+D_k, over strata with T_k ≥ 2
    (Holland & Thayer 1988, eqs. 2–4):

        E(A_k) = n_Rk m_1k / T_k,     Var(A_k) = n_Rk n_Fk m_1k m_0k / (T_k² (T_k − 1))
        χ²_MH = (|Σ A_k − Σ E(A_k)| − ½)² / Σ Var(A_k)          (continuity-corrected, 1 df)
        α_MH  = Σ (A_k D_k / T_k) / Σ (B_k C_k / T_k)
        Δ_MH  = −2.35 ln α_MH

    The continuity correction (``correct``): ``True`` or ``"difr"`` (default) subtracts ½ always, as
    difR's ``mantelHaenszel`` and Holland & Thayer's formula do, so |Σ A − Σ E| < ½ gives (½ − |Σ A − Σ E|)² /
    Σ Var > 0; ``"mantelhaen"`` follows R's ``stats::mantelhaen.test``, which subtracts ½ only when
    |Σ A − Σ E| ≥ ½ and otherwise no correction at all; ``False`` never corrects.
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
    if correct is True or correct == "difr":
        correction = 0.5
    elif correct == "mantelhaen":
        correction = np.where(diff >= 0.5, 0.5, 0.0)
    elif correct is False or correct is None or correct == "none":
        correction = 0.0
    else:
        raise InputError(f"unknown continuity correction {correct!r}; use difr, mantelhaen or none")
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
