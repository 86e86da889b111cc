"""A simulated job-analysis survey with known truth, for tests and demonstrations.

Each competency has a distribution of importance ratings (0–4) and of frequency ratings (0–5); a respondent's
two ratings are drawn independently from them, so the true criticality is exactly E[I·F] = E[I]·E[F] and the
true area weights follow from it (``weights.area_weights``). The distributions are discretised normal
shapes, p_k ∝ exp(−(k − μ)² / (2·0.9²)) over the scale points; a "not performed" competency puts
``not_performed`` of its frequency mass on 0. One competency can be rated more often by one language group
(a known subgroup difference). All randomness goes through one seeded ``numpy.random.Generator``.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from psychometrics.jta.ratings import FREQUENCY_MAX, IMPORTANCE_MAX

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
