"""Per-competency statistics of a job-analysis (practice-analysis) survey and the inclusion rule.

Each respondent rates each competency for importance (0–4) and frequency (0–5, 0 = "never: I do not perform
this"); a blank is "not rated". Inputs are two respondents × competencies arrays with NaN for blanks, blank in
both or in neither (the application checks that).

Per competency j, over the respondents who rated it:

* n_j, mean and SD (ddof = 1) of importance I and of frequency F;
* not performed: the share rating F = 0;
* criticality C_j = (1/n_j) Σ_i I_ij · F_ij, the mean over respondents of the product of the two ratings —
  the multiplicative importance × frequency index of Raymond & Neustel (2006, "Determining the content of
  credentialing examinations", Handbook of Test Development, pp. 181–223) and Raymond (2001, "Job analysis
  and the specification of content for licensure and certification examinations", Applied Measurement in
  Education 14, 369–415). The product is taken per respondent, so a respondent who never performs a
  competency adds 0 whatever its importance. The maximum is 4 × 5 = 20;
* r_wg of the importance ratings (``agreement.rwg``, 5-point null);
* included: the program's rule, mean importance ≥ ``min_importance`` and not-performed share ≤
  ``max_not_performed`` (Raymond 2001 recommends stating such a rule before the survey is analysed).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

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
