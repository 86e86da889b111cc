"""Classical test theory formulas: one named function per formula, each with its source.

Arrays: item arrays are (n_items,); score distributions are frequencies (k + 1,) of the raw scores 0..k.
Moments inside correlations are population moments (divide by N); reported SDs are sample SDs (N − 1).
"""
from __future__ import annotations

import math

import numpy as np
from scipy import stats

#: Confidence level of the Feldt interval for alpha.
DEFAULT_CI_LEVEL = 0.95


def coefficient_alpha(item_variances: np.ndarray, total_variance: float) -> float:
    """Coefficient alpha (= KR-20 for 0/1 items): α = k/(k−1) · (1 − Σ_j σ_j² / σ_X²).

    Kuder & Richardson 1937 (formula 20); Cronbach 1951; Lord & Novick 1968, ch. 4 (coefficient α).
    item_variances: (k,), same divisor as total_variance. NaN when k < 2 or σ_X² = 0.
    """
    k = len(item_variances)
    if k < 2 or not total_variance > 0:
        return float("nan")
    return float(k / (k - 1) * (1.0 - np.sum(item_variances) / total_variance))


#: Variances below this fraction of the scale of the sums they come from are rounding noise, i.e. zero.
VARIANCE_RELATIVE_TOLERANCE = 1e-12


def alpha_if_item_deleted(item_variances: np.ndarray, total_variance: float, item_total_covariances: np.ndarray,
                          n_items: int) -> np.ndarray:
    """Alpha of the test without item j, from the full test's moments (no re-scoring):

        α_(−j) = (k−1)/(k−2) · (1 − (Σ_i σ_i² − σ_j²) / σ²_(X−j)),   σ²_(X−j) = σ_X² − 2 cov(x_j, X) + σ_j²

    (Cronbach 1951 applied to the k − 1 remaining items; Lord & Novick 1968, ch. 4 for the variance of a
    difference). item_variances, item_total_covariances: (n_items_all,), population moments, 0 variance for
    items outside the total; n_items: k, the items in the total. Returns (n_items_all,), NaN when k ≤ 2 or
    σ²_(X−j) ≤ 0. The caller masks items outside the total.
    """
    var_items = np.asarray(item_variances, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        var_without = total_variance - 2.0 * np.asarray(item_total_covariances, dtype=float) + var_items
        if n_items <= 2:
            return np.full(var_items.shape, np.nan)
        out = (n_items - 1) / (n_items - 2) * (1.0 - (var_items.sum() - var_items) / var_without)
    # σ²_(X−j) is a difference of sums of squares: when the rest score is constant it comes out as rounding
    # noise (±1e-16 × σ_X²) rather than 0, and the ratio explodes. Treat it as 0 at that relative size.
    tiny = VARIANCE_RELATIVE_TOLERANCE * max(float(total_variance), float(var_items.sum()), 1.0)
    return np.where(np.isfinite(out) & (var_without > tiny), out, np.nan)


def alpha_from_scores(scored) -> float:
    """Coefficient alpha of a (n_persons, n_items) 0/1 array (NaN counted as 0, as in number-correct scoring).

    α = k/(k−1) · (1 − Σ_j σ_j² / σ_X²) with population variances (Cronbach 1951; KR-20 for 0/1 items).
    """
    x = np.nan_to_num(np.asarray(scored, dtype=float))
    if x.shape[0] < 2:
        return float("nan")
    return coefficient_alpha(x.var(axis=0), float(x.sum(axis=1).var()))


def standardized_alpha(correlations) -> float:
    """Standardized alpha from the (k, k) inter-item correlation matrix: α_std = k r̄ / (1 + (k − 1) r̄), r̄ the
    mean off-diagonal correlation (Cronbach 1951, eq. 27 applied to standardized items; R psych's
    ``std.alpha``). NaN when k < 2."""
    r = np.asarray(correlations, dtype=float)
    k = r.shape[0]
    if k < 2:
        return float("nan")
    mean_r = (r.sum() - np.trace(r)) / (k * (k - 1))
    return float(k * mean_r / (1.0 + (k - 1) * mean_r))


def guttman_lambda6(covariance) -> float:
    """Guttman's (1945) λ6 = 1 − Σ_j ε_j² / σ_X², ε_j² the variance of item j left unexplained by the linear
    regression on the other items, ε_j² = 1 / (Σ⁻¹)_jj, and σ_X² = Σ_jl Σ_jl. Given the correlation matrix it
    is R psych's ``G6(smc)``: 1 − Σ_j (1 − smc_j) / Σ_jl R_jl. NaN when k < 2 or Σ is singular (an item
    that the others predict exactly, or one without variance)."""
    c = np.asarray(covariance, dtype=float)
    k = c.shape[0]
    total = float(c.sum())
    if k < 2 or not total > 0:
        return float("nan")
    try:
        inv = np.linalg.inv(c)
    except np.linalg.LinAlgError:
        return float("nan")
    diag = np.diag(inv)
    if not np.all(np.isfinite(diag)) or np.any(diag <= 0):
        return float("nan")
    return float(1.0 - np.sum(1.0 / diag) / total)


def feldt_interval(alpha: float, n_persons: int, n_items: int, level: float = DEFAULT_CI_LEVEL) -> tuple[float, float]:
    """Feldt's (1965) confidence interval for coefficient alpha.

    (1 − α)/(1 − α̂) follows F with df1 = N − 1 and df2 = (N − 1)(k − 1) (Feldt 1965; Feldt, Woodruff &
    Salih 1987), so with γ = 1 − level:
        lower = 1 − (1 − α̂) · F_{1−γ/2}(df1, df2),   upper = 1 − (1 − α̂) · F_{γ/2}(df1, df2).
    """
    if not np.isfinite(alpha) or n_persons < 2 or n_items < 2:
        return (float("nan"), float("nan"))
    df1, df2 = n_persons - 1, (n_persons - 1) * (n_items - 1)
    gamma = 1.0 - level
    lower = 1.0 - (1.0 - alpha) * stats.f.ppf(1.0 - gamma / 2.0, df1, df2)
    upper = 1.0 - (1.0 - alpha) * stats.f.ppf(gamma / 2.0, df1, df2)
    return (float(lower), float(upper))


def spearman_brown(r, factor: float = 2.0):
    """Spearman–Brown prophecy: r* = f·r / (1 + (f − 1)·r)  (Spearman 1910; Brown 1910; Lord & Novick 1968, ch. 4)."""
    r = np.asarray(r, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = factor * r / (1.0 + (factor - 1.0) * r)
    return float(out) if out.ndim == 0 else out


def biserial_from_point_biserial(point_biserial, p):
    """Biserial from point-biserial: r_bis = r_pb · √(p q) / φ(z_p), z_p = Φ⁻¹(p)  (Lord & Novick 1968, ch. 15).

    Assumes a normally distributed latent variable behind the 0/1 item. NaN when p is 0 or 1.
    """
    p = np.asarray(p, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        density = stats.norm.pdf(stats.norm.ppf(p))
        out = np.asarray(point_biserial, dtype=float) * np.sqrt(p * (1.0 - p)) / density
    return np.where((p > 0) & (p < 1), out, np.nan)


def binomial_csem(n_items: int, raw_scores=None) -> np.ndarray:
    """Lord's binomial conditional SEM at raw score x: CSEM(x) = √(x (k − x) / (k − 1))  (Lord 1955, 1957, 1965).

    The error of a number-correct score under the binomial error model; 0 at x = 0 and x = k.
    raw_scores: defaults to 0..k. Returns (n_scores,).
    """
    x = np.arange(n_items + 1, dtype=float) if raw_scores is None else np.asarray(raw_scores, dtype=float)
    if n_items < 2:
        return np.full(x.shape, np.nan)
    return np.sqrt(np.clip(x * (n_items - x), 0.0, None) / (n_items - 1))


def correlation_from_moments(cov, var_a, var_b):
    """Pearson r = cov / √(var_a · var_b) from moments, NaN where either variance is 0 (Pearson 1896; Lord &
    Novick 1968, ch. 15 for the point-biserial as a Pearson r with a 0/1 variable). Any broadcastable shapes."""
    with np.errstate(divide="ignore", invalid="ignore"):
        r = np.asarray(cov, dtype=float) / np.sqrt(np.asarray(var_a, dtype=float) * np.asarray(var_b, dtype=float))
    r = np.where(np.isfinite(r), r, np.nan)
    return np.clip(r, -1.0, 1.0)


def disattenuated_correlation(correlations, reliabilities):
    """Correction for attenuation: r_ab / √(ρ_a ρ_b)  (Spearman 1904; Lord & Novick 1968, ch. 6).

    correlations: (m, m); reliabilities: (m,). NaN where the result is not finite (e.g. a reliability ≤ 0).
    """
    rel = np.asarray(reliabilities, dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        out = correlations / np.sqrt(rel[:, None] * rel[None, :])
    return np.where(np.isfinite(out), out, np.nan)


def standard_error_of_measurement(sd: float, reliability: float) -> float:
    """SEM = σ_X · √(1 − ρ_XX')  (Lord & Novick 1968, ch. 3; Kolen & Brennan 2014, ch. 1). NaN when either
    is missing or ρ > 1."""
    if np.isfinite(reliability) and reliability <= 1 and np.isfinite(sd):
        return sd * math.sqrt(1.0 - reliability)
    return float("nan")


def guttman_split_half(var_first: float, var_second: float, var_total: float) -> float:
    """Guttman's split-half coefficient: λ₄ = 2 (1 − (σ₁² + σ₂²) / σ_X²)  (Guttman 1945; equal to Rulon 1939).

    Does not assume the halves are parallel. NaN when σ_X² = 0.
    """
    return 2.0 * (1.0 - (var_first + var_second) / var_total) if var_total > 0 else float("nan")


def score_groups(frequency: np.ndarray, n_groups: int) -> np.ndarray:
    """Group (0-based) of each raw score 0..k: ⌊G · PR(s)⌋ capped at G − 1, PR = midpoint percentile rank / 100.

    PR(s) = (F(s) − f(s)/2) / N, the midpoint percentile rank (Kolen & Brennan 2014, sec. 2.1); grouping whole
    score points follows the Iteman 4 manual's quantile plots. Ties stay together (a score is never split
    between groups). frequency: (k + 1,). Returns (k + 1,) int.
    """
    n = frequency.sum()
    if n == 0:
        return np.zeros(len(frequency), dtype=np.int64)
    midpoint = (np.cumsum(frequency) - frequency / 2.0) / n
    return np.minimum((n_groups * midpoint).astype(np.int64), n_groups - 1)


def frequency_moments(frequency: np.ndarray):
    """Mean, sample SD, g1 skew and g2 excess kurtosis of a score distribution given by its frequencies.

    With central moments m_r = Σ_s f(s) (s − mean)^r / N: SD = √(m₂ N/(N−1)), g1 = m₃ / m₂^{3/2},
    g2 = m₄ / m₂² − 3 (the moment coefficients g₁ and g₂ of Joanes & Gill 1998). frequency: (k + 1,).
    """
    n = frequency.sum()
    s = np.arange(len(frequency), dtype=float)
    if n == 0:
        return (float("nan"),) * 4
    mean = float(frequency @ s / n)
    d = s - mean
    m2, m3, m4 = (float(frequency @ d ** e / n) for e in (2, 3, 4))
    sd = math.sqrt(m2 * n / (n - 1)) if n > 1 else float("nan")
    skew = m3 / m2 ** 1.5 if m2 > 0 else float("nan")
    kurt = m4 / m2 ** 2 - 3.0 if m2 > 0 else float("nan")
    return mean, sd, skew, kurt


def frequency_median(frequency: np.ndarray) -> float:
    """Median of the scores given by their frequencies (k + 1,): the middle score, or the mean of the two
    middle ones when N is even (the ordinary sample median, e.g. Hyndman & Fan 1996, definition 7 at p = .5)."""
    n = int(frequency.sum())
    if n == 0:
        return float("nan")
    cum = np.cumsum(frequency)
    lo = int(np.searchsorted(cum, (n - 1) // 2 + 1))  # score of the ((n−1)//2)-th sorted value (0-based)
    hi = int(np.searchsorted(cum, n // 2 + 1))
    return (lo + hi) / 2.0
