"""Decision quality at a cut: conditional SEM, decision consistency and accuracy, Livingston's K².

A candidate passes when raw ≥ cut (integer raw cut) or θ ≥ θ_cut. "Consistency" is the probability that two
independent administrations of parallel forms classify a candidate the same way; "accuracy" the probability
that the observed classification equals the classification by true score. Kappa = (p0 − pc)/(1 − pc) with
pc the chance agreement from the marginal pass rate (Cohen 1960).

Shapes: scores (n_persons,) raw number-correct; item parameters via ``equating.ItemParameters``.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from certbank_core.errors import InputError
from psychometrics.irt.equating import ItemParameters, summed_score_distribution
from psychometrics.irt.models import conditional_sem
from psychometrics.irt.quadrature import make_quadrature

#: Bins for integrating over a beta true-score distribution (midpoints of equal-probability-mass bins
#: would be exact for any shape; equal-width bins with CDF-difference weights are accurate enough).
BETA_BINS = 4000


@dataclass(frozen=True)
class DecisionResult:
    """accuracy / consistency are proportions; kappa is Cohen's kappa of consistency; NaN where not defined."""

    method: str
    accuracy: float
    consistency: float
    kappa: float
    pass_rate: float
    false_positive: float = float("nan")
    false_negative: float = float("nan")
    details: dict | None = None

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame([{"method": self.method, "accuracy": self.accuracy, "consistency": self.consistency,
                              "kappa": self.kappa, "pass_rate": self.pass_rate,
                              "false_positive": self.false_positive, "false_negative": self.false_negative}])


def _kappa(p0: float, pass_rate: float) -> float:
    pc = pass_rate**2 + (1.0 - pass_rate) ** 2
    return float((p0 - pc) / (1.0 - pc)) if pc < 1 else float("nan")


def _classification(method: str, w: np.ndarray, p_pass: np.ndarray, true_pass: np.ndarray,
                    details: dict | None = None) -> DecisionResult:
    """Indices from P(observed pass | true level q) over a true-level distribution with weights w (all (n_q,)):

    pass rate Σ w P; consistency Σ w [P² + (1 − P)²] (two independent parallel administrations; Hanson &
    Brennan 1990, Lee 2010); false positive Σ w P [not true pass]; false negative Σ w (1 − P) [true pass];
    accuracy = 1 − FP − FN.
    """
    pass_rate = float(w @ p_pass)
    consistency = float(w @ (p_pass**2 + (1 - p_pass) ** 2))
    fp = float(w @ np.where(true_pass, 0.0, p_pass))
    fn = float(w @ np.where(true_pass, 1 - p_pass, 0.0))
    return DecisionResult(method, 1 - fp - fn, consistency, _kappa(consistency, pass_rate), pass_rate, fp, fn,
                          details)


def _clean(scores) -> np.ndarray:
    s = np.asarray(scores, dtype=float)
    s = s[~np.isnan(s)]
    if s.size < 2 or s.std() == 0:
        raise InputError("decision indices need at least two scores that vary")
    return s


def _check_cut(cut, low: float, high: float) -> None:
    """A cut outside the reachable scores makes every index trivially perfect: refuse it in one sentence."""
    if not (np.isfinite(cut) and low <= cut <= high):
        raise InputError(f"raw cut {cut} is outside the score range {low:g}–{high:g}")


def _whole_cut(cut) -> int:
    """The smallest whole raw score that passes (raw ≥ cut), as in ``livingston_lewis`` and ``impact``."""
    return int(np.ceil(float(cut) - 1e-9))


def kr21(scores, n_items: int) -> float:
    """KR-21 = n/(n − 1) · [1 − μ(n − μ)/(n σ²)] (Kuder & Richardson 1937), σ² with denominator N."""
    s = _clean(scores)
    mu, var = s.mean(), s.var()
    return float(n_items / (n_items - 1) * (1 - mu * (n_items - mu) / (n_items * var)))


# --------------------------------------------------------------------------------------------------------
# Conditional standard errors of measurement
# --------------------------------------------------------------------------------------------------------
def csem_lord(raw, n_items: int) -> np.ndarray:
    """Lord's binomial-error CSEM of a raw score: sqrt[x (n − x)/(n − 1)] (Lord 1955; Feldt & Brennan 1989)."""
    x = np.asarray(raw, dtype=float)
    return np.sqrt(np.clip(x * (n_items - x), 0, None) / (n_items - 1))


def csem_keats(raw, n_items: int, reliability: float, reliability_kr21: float) -> np.ndarray:
    """Keats' adjustment of Lord's CSEM: sqrt[(1 − ρ_XX′)/(1 − KR21)] · sqrt[x(n − x)/(n − 1)] (Keats 1957)."""
    return np.sqrt((1.0 - reliability) / (1.0 - reliability_kr21)) * csem_lord(raw, n_items)


def csem_irt(theta, params: ItemParameters) -> pd.DataFrame:
    """IRT CSEMs at θ: of θ, 1/sqrt(I(θ)) (Lord 1980 eq. 5-7, via irt.models), and of the raw score,
    sqrt(Σ_j P_j Q_j) (Lord 1980 eq. 4-3). theta (n,) → frame theta, true_score, csem_theta, csem_raw."""
    theta = np.atleast_1d(np.asarray(theta, dtype=float))
    p = params.p(theta)
    return pd.DataFrame({"theta": theta, "true_score": p.sum(axis=1),
                         "csem_theta": conditional_sem(theta, params.a, params.b, params.c, params.D),
                         "csem_raw": np.sqrt((p * (1 - p)).sum(axis=1))})


# --------------------------------------------------------------------------------------------------------
# Beta-binomial models: Huynh and Livingston–Lewis
# --------------------------------------------------------------------------------------------------------
def _beta_from_moments(mean: float, var: float) -> tuple[float, float]:
    """Two-parameter beta on [0, 1] with the given mean and variance (method of moments)."""
    if not 0 < mean < 1 or var <= 0 or var >= mean * (1 - mean):
        raise InputError("the scores cannot support a beta true-score distribution "
                         "(reliability too low or scores at the floor/ceiling)")
    k = mean * (1 - mean) / var - 1
    return mean * k, (1 - mean) * k


def _beta_binomial_decisions(alpha: float, beta: float, n: int, cut_count: int, true_cut: float,
                             method: str, details: dict, lower: float = 0.0, upper: float = 1.0) -> DecisionResult:
    """Integrate over τ ~ Beta(α, β) on [lower, upper]: P(pass | τ) = P(Binomial(n, τ) ≥ cut_count);
    true pass: τ ≥ true_cut."""
    edges = np.linspace(lower, upper, BETA_BINS + 1)
    w = np.diff(stats.beta.cdf(edges, alpha, beta, loc=lower, scale=upper - lower))
    tau = 0.5 * (edges[1:] + edges[:-1])
    p_pass = stats.binom.sf(cut_count - 1, n, tau)
    return _classification(method, w, p_pass, tau >= true_cut,
                           dict(details, alpha=alpha, beta=beta, lower=lower, upper=upper))


def true_score_moments(scores, n: int) -> tuple[float, float, float, float]:
    """Mean, variance, skewness and excess kurtosis of the true proportion τ under binomial error.

    E[τ^k] = E[X(X − 1)…(X − k + 1)] / [n(n − 1)…(n − k + 1)] (Lord 1965; Hanson 1991). scores: (N,) on the
    0..n scale (may be non-integer after rescaling to an effective test length).
    """
    x = np.asarray(scores, dtype=float)
    raw = []
    for k in range(1, 5):
        falling = np.prod([x - i for i in range(k)], axis=0)
        raw.append(float(falling.mean() / np.prod([n - i for i in range(k)])))
    m1, m2, m3, m4 = raw
    var = m2 - m1**2
    if var <= 0:
        return m1, var, float("nan"), float("nan")
    c3 = m3 - 3 * m1 * m2 + 2 * m1**3
    c4 = m4 - 4 * m1 * m3 + 6 * m1**2 * m2 - 3 * m1**4
    return m1, var, c3 / var**1.5, c4 / var**2 - 3.0


def four_parameter_beta(mean: float, var: float, skew: float, excess_kurtosis: float):
    """Method-of-moments four-parameter beta (α, β, lower, upper) (Pearson type I; Hanson 1991):

    ν = α + β = 3(κ − γ₁² + 2)/(1.5 γ₁² − κ); α, β = (ν/2)[1 ∓ 1/sqrt(1 + 16(ν + 1)/((ν + 2)² γ₁²))]
    (α the smaller when γ₁ > 0); upper − lower = (σ/2) sqrt((ν + 2)² γ₁² + 16(ν + 1)); lower = μ − (α/ν)(upper − lower).
    Returns None when the moments do not belong to a beta distribution.
    """
    g1, kappa = skew, excess_kurtosis
    denom = 1.5 * g1**2 - kappa
    if not np.isfinite(g1) or not np.isfinite(kappa) or denom <= 0 or var <= 0:
        return None
    nu = 3.0 * (kappa - g1**2 + 2.0) / denom
    if nu <= 0:
        return None
    if abs(g1) < 1e-12:
        alpha = beta = nu / 2.0
    else:
        root = 1.0 / np.sqrt(1.0 + 16.0 * (nu + 1.0) / ((nu + 2.0) ** 2 * g1**2))
        small, large = nu / 2.0 * (1 - root), nu / 2.0 * (1 + root)
        alpha, beta = (small, large) if g1 > 0 else (large, small)
    width = np.sqrt(var) / 2.0 * np.sqrt((nu + 2.0) ** 2 * g1**2 + 16.0 * (nu + 1.0))
    lower = mean - alpha / nu * width
    return float(alpha), float(beta), float(lower), float(lower + width)


def huynh(scores, n_items: int, cut_raw: int) -> DecisionResult:
    """Huynh (1976) beta-binomial decision consistency.

    True proportion τ ~ Beta(α, β) fitted so that the beta-binomial reproduces the observed mean and variance
    (equivalently α = (1/KR21 − 1) μ, β = (1/KR21 − 1)(n − μ); Huynh 1976); two parallel administrations are
    independent Binomial(n, τ). Accuracy treats τ ≥ cut/n as truly passing.
    """
    _check_cut(cut_raw, 0, n_items)
    s = _clean(scores)
    r21 = kr21(s, n_items)
    mean = s.mean() / n_items
    return _beta_binomial_decisions(*_beta_from_moments(mean, r21 * s.var() / n_items**2), n_items,
                                    _whole_cut(cut_raw),
                                    cut_raw / n_items, "huynh", {"kr21": r21})


def livingston_lewis(scores, n_items: int, cut_raw: float, reliability: float,
                     min_score: float = 0.0, max_score: float | None = None) -> DecisionResult:
    """Livingston & Lewis (1995) decision consistency and accuracy.

    Effective test length n_e = [(μ − X_min)(X_max − μ) − ρσ²] / [σ²(1 − ρ)] (LL eq. 5), rounded; scores are
    rescaled to 0..n_e, the true proportion τ gets a four-parameter beta fitted to its first four moments under
    binomial error (``true_score_moments``, ``four_parameter_beta``; Hanson 1991), observed scores on the
    effective test are Binomial(n_e, τ), and the cut moves to n_e·(C − X_min)/(X_max − X_min), rounded up. When
    the four-parameter fit fails or leaves [0, 1], LL's fallback is used: a two-parameter beta on [0, 1] with
    mean (μ − X_min)/(X_max − X_min) and variance ρσ²/(X_max − X_min)² (``details['beta_parameters']`` says which).
    """
    s = _clean(scores)
    xmax = float(n_items if max_score is None else max_score)
    _check_cut(cut_raw, min_score, xmax)
    mu, var = s.mean(), s.var()
    if not 0 < reliability < 1:
        raise InputError(f"reliability {reliability} must be between 0 and 1")
    n_eff = ((mu - min_score) * (xmax - mu) - reliability * var) / (var * (1 - reliability))
    n_eff = int(max(1, round(n_eff)))
    width = xmax - min_score
    c_prop = (cut_raw - min_score) / width
    cut_count = int(np.ceil(c_prop * n_eff - 1e-9))
    details = {"effective_length": n_eff, "cut_on_effective_length": cut_count}
    fit = four_parameter_beta(*true_score_moments((s - min_score) / width * n_eff, n_eff))
    if fit is not None and fit[2] >= 0.0 and fit[3] <= 1.0 and min(fit[0], fit[1]) > 0:
        alpha, beta, lower, upper = fit
        return _beta_binomial_decisions(alpha, beta, n_eff, cut_count, c_prop, "livingston_lewis",
                                        dict(details, beta_parameters=4), lower, upper)
    alpha, beta = _beta_from_moments((mu - min_score) / width, reliability * var / width**2)
    return _beta_binomial_decisions(alpha, beta, n_eff, cut_count, c_prop, "livingston_lewis",
                                    dict(details, beta_parameters=2))


def subkoviak(scores, n_items: int, cut_raw: int, reliability: float | None = None) -> DecisionResult:
    """Subkoviak (1976) single-administration consistency.

    Each candidate's true proportion is the regressed estimate p̂_i = ρ x_i/n + (1 − ρ) μ/n (ρ defaults to
    KR-21); P_i = P(Binomial(n, p̂_i) ≥ C); p0 = mean(P_i² + (1 − P_i)²); accuracy is not defined (NaN).
    """
    _check_cut(cut_raw, 0, n_items)
    s = _clean(scores)
    rho = kr21(s, n_items) if reliability is None else float(reliability)
    p_hat = np.clip(rho * s / n_items + (1 - rho) * s.mean() / n_items, 0, 1)
    P = stats.binom.sf(_whole_cut(cut_raw) - 1, n_items, p_hat)
    p0 = float(np.mean(P**2 + (1 - P) ** 2))
    pass_rate = float(P.mean())
    return DecisionResult("subkoviak", float("nan"), p0, _kappa(p0, pass_rate), pass_rate,
                          details={"reliability": rho})


# --------------------------------------------------------------------------------------------------------
# IRT-based classification
# --------------------------------------------------------------------------------------------------------
def rudner(theta_hat, se, theta_cut: float) -> DecisionResult:
    """Rudner (2001, 2005) classification accuracy from θ̂ and its SE.

    θ ~ N(θ̂_i, SE_i²) given the estimate: P_i = Φ((θ̂_i − θ_c)/SE_i) is the probability the candidate is truly
    above the cut. Accuracy = mean P(true class = observed class); consistency = mean(P_i² + (1 − P_i)²)
    (Wyse & Hao 2012). theta_hat, se: (n_persons,).
    """
    th = np.asarray(theta_hat, dtype=float)
    se = np.broadcast_to(np.asarray(se, dtype=float), th.shape)
    ok = ~np.isnan(th) & ~np.isnan(se) & (se > 0)
    th, se = th[ok], se[ok]
    P = stats.norm.cdf((th - theta_cut) / se)
    observed_pass = th >= theta_cut
    accuracy = float(np.mean(np.where(observed_pass, P, 1 - P)))
    fp = float(np.mean(np.where(observed_pass, 1 - P, 0.0)))
    fn = float(np.mean(np.where(observed_pass, 0.0, P)))
    p0 = float(np.mean(P**2 + (1 - P) ** 2))
    pass_rate = float(observed_pass.mean())
    return DecisionResult("rudner", accuracy, p0, _kappa(p0, float(P.mean())), pass_rate, fp, fn)


def lee_classification(params: ItemParameters, raw_cut: int, theta_cut: float | None = None,
                       theta=None, weights=None) -> DecisionResult:
    """Lee (2010) IRT classification consistency and accuracy for number-correct scores.

    For each θ_q: P(pass | θ_q) = Σ_{x ≥ C} P(X = x | θ_q) by Lord–Wingersky; true pass: θ_q ≥ θ_c (default:
    true score TCC(θ_q) ≥ C). Accuracy = Σ_q w_q P(observed = true | θ_q); consistency
    = Σ_q w_q [P_q² + (1 − P_q)²]. theta/weights: the ability distribution (default N(0, 1) quadrature; pass
    persons' θ̂ with equal weights for Lee's "D method").
    """
    if not 0 <= raw_cut <= params.n_items:
        raise InputError(f"raw cut {raw_cut} is outside the score range 0–{params.n_items}")
    if theta is None:
        quad = make_quadrature()
        theta, weights = quad.nodes, quad.weights
    theta = np.asarray(theta, dtype=float)
    w = np.full(theta.shape, 1.0 / theta.size) if weights is None else np.asarray(weights, float) / np.sum(weights)
    dist = summed_score_distribution(params, theta)
    p_pass = dist[:, _whole_cut(raw_cut):].sum(axis=1)
    true_pass = theta >= theta_cut if theta_cut is not None else params.tcc(theta) >= raw_cut
    return _classification("lee", w, p_pass, true_pass)


def livingston_k2(scores, cut: float, reliability: float) -> float:
    """Livingston's (1972) K² = [ρσ² + (μ − C)²] / [σ² + (μ − C)²] (σ² with denominator N, as Iteman)."""
    s = _clean(scores)
    d2 = (s.mean() - cut) ** 2
    return float((reliability * s.var() + d2) / (s.var() + d2))


def decision_summary(scores, n_items: int, cut_raw: int, reliability: float | None = None,
                     params: ItemParameters | None = None, theta_cut: float | None = None) -> pd.DataFrame:
    """Every index that the data support, one row each (method, accuracy, consistency, kappa, ...), plus
    Livingston's K² and Lord's CSEM at the cut in every row. ``reliability`` defaults to KR-21 (a lower bound
    of KR-20; pass the form's alpha when known)."""
    _check_cut(cut_raw, 0, n_items)
    if reliability is None:
        reliability = kr21(scores, n_items)
    frames = [livingston_lewis(scores, n_items, cut_raw, reliability).to_frame(),
              huynh(scores, n_items, cut_raw).to_frame(),
              subkoviak(scores, n_items, cut_raw, reliability).to_frame()]
    if params is not None:
        frames.append(lee_classification(params, cut_raw, theta_cut).to_frame())
    out = pd.concat(frames, ignore_index=True)
    out["livingston_k2"] = livingston_k2(scores, cut_raw, reliability)
    out["csem_lord_at_cut"] = float(csem_lord(cut_raw, n_items))
    out["reliability"] = reliability
    return out
