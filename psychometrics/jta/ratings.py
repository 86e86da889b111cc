"""A job-analysis (practice-analysis) survey's competency statistics, inclusion rule, content weights and
item counts, and a simulated survey with known truth.

Each respondent rates each competency for importance (0–4) and frequency (0–5, 0 = "never: I do not perform
this"); a blank is "not rated". Inputs are two respondents × competencies arrays with NaN for blanks, blank in
both or in neither (the application checks that).

Per competency j, over the respondents who rated it:

* n_j, mean and SD (ddof = 1) of importance I and of frequency F;
* not performed: the share rating F = 0;
* criticality C_j = (1/n_j) Σ_i I_ij · F_ij, the mean over respondents of the product of the two ratings —
  the multiplicative importance × frequency index of Raymond & Neustel (2006, "Determining the content of
  credentialing examinations", Handbook of Test Development) and Raymond (2001, "Job analysis
  and the specification of content for licensure and certification examinations", Applied Measurement in
  Education 14, 369–415). The product is taken per respondent, so a respondent who never performs a
  competency adds 0 whatever its importance. The maximum is 4 × 5 = 20;
* r_wg of the importance ratings (``agreement.rwg``, 5-point null);
* included: the program's rule, mean importance ≥ ``min_importance`` and not-performed share ≤
  ``max_not_performed`` (a rule the program sets before it looks at the results).

Content weights and item counts:

* Area weight w_a = Σ_{j in a, included} C_j / Σ_{j included} C_j: each area's share of the total
  criticality of the competencies the inclusion rule keeps (Raymond & Neustel 2006, "Determining the content
  of credentialing examinations", summing task ratings within each content domain; Raymond 2001).
  An area whose competencies are all excluded weighs 0 and gets only its minimum.
* Item counts: each area's quota is q_a = clip(λ·w_a, min_a, max_a) with λ chosen so that Σ q_a = length
  (proportional to the weight, but never below the program's minimum nor above what the bank can supply);
  the quotas are then rounded by the largest-remainder (Hamilton) method: every area gets ⌊q_a⌋ and the
  seats still free go one each to the largest fractional parts (Balinski & Young 1982, "Fair
  Representation"). Ties go to the larger weight, then to the area listed first.

A simulated survey (``simulate_survey``): each competency has a distribution of importance ratings (0–4)
and of frequency ratings (0–5); a respondent's two ratings are drawn independently from them, so the true criticality is exactly E[I·F] = E[I]·E[F] and the
true area weights follow from it (``area_weights``). The distributions are discretised normal
shapes, p_k ∝ exp(−(k − μ)² / (2·0.9²)) over the scale points; a "not performed" competency puts
``not_performed`` of its frequency mass on 0. One competency can be rated more often by one language group
(a known subgroup difference). All randomness goes through one seeded ``numpy.random.Generator``.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from certbank_core.errors import EstimationError
from psychometrics.jta.agreement import rwg

#: Rating scales: importance 0–4 (5 points), frequency 0–5 (6 points).
IMPORTANCE_MAX = 4
FREQUENCY_MAX = 5


@dataclass(frozen=True)
class InclusionRule:
    """The program's rule for keeping a competency in the exam's content."""

    min_importance: float = 2.0
    max_not_performed: float = 0.5

    def describe(self) -> str:
        return (f"a competency is tested when its mean importance is at least {self.min_importance:g} (0–4 scale) "
                f"and at most {self.max_not_performed:.0%} of respondents say they do not perform it")


@dataclass(frozen=True)
class CompetencyRatings:
    """The statistics of every competency, in survey order (see the module docstring)."""

    codes: tuple[str, ...]
    areas: tuple[str, ...]
    n: np.ndarray
    importance_mean: np.ndarray
    importance_sd: np.ndarray
    frequency_mean: np.ndarray
    frequency_sd: np.ndarray
    not_performed: np.ndarray
    criticality: np.ndarray
    rwg_importance: np.ndarray
    included: np.ndarray
    rule: InclusionRule

    def reasons(self) -> list[str]:
        """Why each competency is out ('' when it is in)."""
        out = []
        for imp, npf, inc in zip(self.importance_mean, self.not_performed, self.included):
            why = []
            if not inc and not imp >= self.rule.min_importance:
                why.append(f"mean importance {imp:.2f} below {self.rule.min_importance:g}")
            if not inc and not npf <= self.rule.max_not_performed:
                why.append(f"{npf:.0%} do not perform it (more than {self.rule.max_not_performed:.0%})")
            out.append("; ".join(why))
        return out

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame({
            "competency": self.codes, "area": self.areas, "n": self.n,
            "importance_mean": self.importance_mean, "importance_sd": self.importance_sd,
            "frequency_mean": self.frequency_mean, "frequency_sd": self.frequency_sd,
            "not_performed": self.not_performed, "criticality": self.criticality,
            "rwg_importance": self.rwg_importance, "included": self.included, "excluded_because": self.reasons(),
        })


def _nan_stats(x: np.ndarray, n: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Column means, sample SDs and sample variances ignoring NaN (NaN where n is too small)."""
    with np.errstate(invalid="ignore", divide="ignore"):
        total = np.nansum(x, axis=0)
        mean = np.where(n > 0, total / np.maximum(n, 1), np.nan)
        dev2 = np.nansum((x - mean) ** 2, axis=0)
        var = np.where(n > 1, dev2 / np.maximum(n - 1, 1), np.nan)
    return mean, np.sqrt(var), var


def competency_ratings(importance, frequency, codes, areas, rule: InclusionRule = InclusionRule()) -> CompetencyRatings:
    """The per-competency statistics of a survey (respondents × competencies arrays, NaN = not rated)."""
    imp = np.asarray(importance, dtype=float)
    freq = np.asarray(frequency, dtype=float)
    rated = ~np.isnan(imp) & ~np.isnan(freq)
    imp = np.where(rated, imp, np.nan)
    freq = np.where(rated, freq, np.nan)
    n = rated.sum(axis=0)
    imp_mean, imp_sd, imp_var = _nan_stats(imp, n)
    freq_mean, freq_sd, _ = _nan_stats(freq, n)
    with np.errstate(invalid="ignore", divide="ignore"):
        not_performed = np.where(n > 0, (freq == 0).sum(axis=0) / np.maximum(n, 1), np.nan)
        criticality = np.where(n > 0, np.nansum(imp * freq, axis=0) / np.maximum(n, 1), np.nan)
    included = (imp_mean >= rule.min_importance) & (not_performed <= rule.max_not_performed)
    return CompetencyRatings(
        codes=tuple(codes), areas=tuple(areas), n=n, importance_mean=imp_mean, importance_sd=imp_sd,
        frequency_mean=freq_mean, frequency_sd=freq_sd, not_performed=not_performed, criticality=criticality,
        rwg_importance=rwg(imp_var, IMPORTANCE_MAX + 1), included=included, rule=rule)


# ---- content weights and item counts ----------------------------------------------------------------------


def area_weights(criticality, competency_areas, included, area_codes) -> np.ndarray:
    """w_a for each of ``area_codes``: the included competencies' criticality summed by area, over the total."""
    crit = np.where(np.asarray(included, dtype=bool), np.nan_to_num(np.asarray(criticality, dtype=float)), 0.0)
    where = {code: i for i, code in enumerate(area_codes)}
    index = np.array([where[a] for a in competency_areas], dtype=int)
    sums = np.bincount(index, weights=crit, minlength=len(area_codes))
    total = sums.sum()
    if total <= 0:
        raise EstimationError("No competency meets the inclusion rule, so no content weights can be set.")
    return sums / total


def bounded_quotas(weights, length: int, minimum, maximum) -> np.ndarray:
    """q_a = clip(λ w_a, min_a, max_a) summing to ``length`` (λ by bisection; Σ q is monotone in λ)."""
    w = np.asarray(weights, dtype=float)
    lo_b = np.broadcast_to(np.asarray(minimum, dtype=float), w.shape)
    hi_b = np.broadcast_to(np.asarray(maximum, dtype=float), w.shape)
    if lo_b.sum() > length:
        raise EstimationError(f"The per-area minimums add up to {lo_b.sum():.0f} items, more than the test "
                              f"length {length}.")
    if hi_b.sum() < length:
        raise EstimationError(f"The per-area maximums add up to {hi_b.sum():.0f} items, fewer than the test "
                              f"length {length}.")

    def total(lam: float) -> float:
        return float(np.clip(lam * w, lo_b, hi_b).sum())

    lo, hi = 0.0, 1.0
    while total(hi) < length and hi < 1e12:
        hi *= 2.0
    for _ in range(200):
        mid = 0.5 * (lo + hi)
        lo, hi = (mid, hi) if total(mid) < length else (lo, mid)
    q = np.clip(hi * w, lo_b, hi_b)
    if not np.isclose(q.sum(), length):
        raise EstimationError(f"The areas can hold at most {q.sum():.0f} items within their limits (areas of "
                              f"weight 0 stay at their minimum), fewer than the test length {length}.")
    return q


def largest_remainder(quotas, length: int, weights=None, maximum=None) -> np.ndarray:
    """Hamilton rounding of quotas that sum to ``length``: floors, then one seat each to the largest
    fractional parts (ties: larger weight, then earlier area), never above ``maximum``."""
    q = np.asarray(quotas, dtype=float)
    floors = np.floor(q + 1e-9).astype(int)
    seats = int(length - floors.sum())
    frac = np.where(q - floors > 1e-9, q - floors, 0.0)
    w = np.zeros_like(q) if weights is None else np.asarray(weights, dtype=float)
    cap = np.full(q.shape, np.inf) if maximum is None else np.broadcast_to(np.asarray(maximum, float), q.shape)
    order = sorted(range(q.size), key=lambda i: (-frac[i], -w[i], i))
    counts = floors.copy()
    for i in order:
        if seats <= 0:
            break
        if counts[i] + 1 <= cap[i]:
            counts[i] += 1
            seats -= 1
    return counts


@dataclass(frozen=True)
class AreaAllocation:
    """Weights, quotas and item counts of every content area (blueprint order)."""

    areas: tuple[str, ...]
    weights: np.ndarray
    unbounded_quota: np.ndarray  # length × w_a, before minimums and caps
    quota: np.ndarray
    counts: np.ndarray
    minimum: np.ndarray
    maximum: np.ndarray
    length: int

    @property
    def capped(self) -> tuple[str, ...]:
        """Areas whose share of the length is more than the cap allows (a bank-growth finding)."""
        return tuple(a for a, u, m in zip(self.areas, self.unbounded_quota, self.maximum) if u > m + 1e-9)

    @property
    def raised(self) -> tuple[str, ...]:
        """Areas raised to the minimum count."""
        return tuple(a for a, u, m in zip(self.areas, self.unbounded_quota, self.minimum) if u < m - 1e-9)

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame({"area": self.areas, "weight": self.weights, "share_of_length": self.unbounded_quota,
                             "quota": self.quota, "count": self.counts, "minimum": self.minimum,
                             "maximum": self.maximum})


def allocate_items(weights, area_codes, length: int, minimum=0, maximum=None) -> AreaAllocation:
    """Item counts per area: bounded proportional quotas rounded by largest remainder (module docstring)."""
    w = np.asarray(weights, dtype=float)
    lo = np.broadcast_to(np.asarray(minimum, dtype=float), w.shape).copy()
    hi = np.broadcast_to(np.asarray(length if maximum is None else maximum, dtype=float), w.shape).copy()
    quota = bounded_quotas(w, length, lo, hi)
    counts = largest_remainder(quota, length, w, hi)
    return AreaAllocation(tuple(area_codes), w, length * w, quota, counts, lo, hi, int(length))


# ---- a simulated survey with known truth ------------------------------------------------------------------

SPREAD = 0.9


def scale_distribution(mean: float, max_point: int, zero_mass: float | None = None) -> np.ndarray:
    """Probabilities of the points 0..max_point, centred near ``mean``; ``zero_mass`` fixes P(0)."""
    k = np.arange(max_point + 1, dtype=float)
    p = np.exp(-((k - mean) ** 2) / (2 * SPREAD ** 2))
    p /= p.sum()
    if zero_mass is not None:
        rest = p[1:] / p[1:].sum()
        p = np.concatenate([[zero_mass], (1 - zero_mass) * rest])
    return p


@dataclass(frozen=True)
class SimulatedSurvey:
    importance: np.ndarray  # respondents × competencies
    frequency: np.ndarray
    language: np.ndarray
    setting: np.ndarray
    region: np.ndarray
    years: np.ndarray
    true_criticality: np.ndarray  # E[I·F] over the respondents' language mix


def simulate_survey(importance_means, frequency_means, rng: np.random.Generator, n: int = 300,
                    spanish_share: float = 1 / 3, not_performed: dict[int, float] | None = None,
                    spanish_frequency_shift: dict[int, float] | None = None) -> SimulatedSurvey:
    """``n`` respondents (the first n·(1 − spanish_share) English) rating every competency.

    ``not_performed``: competency index → P(frequency = 0); ``spanish_frequency_shift``: competency index →
    shift of the frequency centre for Spanish-language respondents."""
    imp_mu = np.asarray(importance_means, dtype=float)
    freq_mu = np.asarray(frequency_means, dtype=float)
    n_es = int(round(n * spanish_share))
    language = np.array(["en"] * (n - n_es) + ["es"] * n_es, dtype=object)
    imp = np.empty((n, imp_mu.size))
    freq = np.empty((n, imp_mu.size))
    truth = np.zeros(imp_mu.size)
    points_i = np.arange(IMPORTANCE_MAX + 1)
    points_f = np.arange(FREQUENCY_MAX + 1)
    for j in range(imp_mu.size):
        pi = scale_distribution(imp_mu[j], IMPORTANCE_MAX)
        zero = (not_performed or {}).get(j)
        for lang, rows in (("en", language == "en"), ("es", language == "es")):
            shift = (spanish_frequency_shift or {}).get(j, 0.0) if lang == "es" else 0.0
            pf = scale_distribution(freq_mu[j] + shift, FREQUENCY_MAX, zero)
            m = int(rows.sum())
            imp[rows, j] = rng.choice(points_i, size=m, p=pi)
            freq[rows, j] = rng.choice(points_f, size=m, p=pf)
            truth[j] += (m / n) * float(points_i @ pi) * float(points_f @ pf)
    setting = rng.choice(np.array(["community", "clinical"], dtype=object), size=n, p=[0.6, 0.4])
    region = rng.choice(np.array(["north", "south"], dtype=object), size=n)
    years = rng.choice(np.arange(0, 16), size=n)
    return SimulatedSurvey(imp, freq, language, setting, region, years, truth)
