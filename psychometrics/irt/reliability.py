"""Empirical (marginal) reliability of IRT scale scores.

    ρ = var(θ̂) / (var(θ̂) + mean(SE²))

over the persons scored, with θ̂ the EAP (SE the posterior SD) or the summed-score EAP of each person's
raw score (SE the posterior SD of that raw score). du Toit (2003, IRT from SSI, the "empirical reliability"
of BILOG-MG/MULTILOG), and R mirt's ``empirical_rxx`` and its EAPsum ``rxx``, which use the n − 1 variance;
so does this module (``ddof=1``): LSAT7 2PL EAPsum 0.4319948 in mirt's tests, reproduced to 1e-5.
"""
from __future__ import annotations

import numpy as np

from certbank_core.errors import InputError, Problem


def empirical_reliability(theta, se, *, ddof: int = 1) -> float:
    """var(θ̂) / (var(θ̂) + mean(SE²)) over the persons with a finite θ̂ and SE. theta, se: (n_persons,)."""
    theta = np.asarray(theta, dtype=float)
    se = np.asarray(se, dtype=float)
    if theta.shape != se.shape:
        raise InputError(Problem("theta and se must have the same length"))
    ok = np.isfinite(theta) & np.isfinite(se)
    if ok.sum() <= ddof:
        return float("nan")
    v = float(np.var(theta[ok], ddof=ddof))
    return v / (v + float(np.mean(se[ok] ** 2)))


def summed_score_reliability(raw_scores, table_theta, table_sd, *, ddof: int = 1) -> float:
    """Empirical reliability of summed-score EAP: each person gets the table's θ and posterior SD at their
    raw score (``scoring.summed_score_eap``), then ``empirical_reliability``. raw_scores: (n_persons,) whole
    numbers 0..n_items (complete responses)."""
    r = np.asarray(raw_scores)
    if np.any(r < 0) or np.any(r >= len(table_theta)) or np.any(r != np.round(r)):
        raise InputError(Problem("raw scores must be whole numbers between 0 and the number of items"))
    r = r.astype(int)
    return empirical_reliability(np.asarray(table_theta)[r], np.asarray(table_sd)[r], ddof=ddof)
