"""Classical equating of raw scores (Kolen & Brennan 2014, *Test Equating, Scaling, and Linking*, 3rd ed.).

* ``classical`` — random-groups mean, linear and equipercentile equating; NEAT Tucker, Levine (observed and
  true score), chained linear, frequency estimation, Braun–Holland and chained equipercentile, with K&B's
  conventions (percentile ranks, continuization at ±½).

IRT true- and observed-score equating live with the IRT models, in ``psychometrics.irt.equating``.
"""
from __future__ import annotations

from psychometrics.equating.classical import (MOMENT_KEYS, NEAT_METHODS, RANDOM_GROUPS_METHODS, EquatingResult,
                                              NeatData, braun_holland_equating, chained_equipercentile_equating,
                                              chained_linear_equating, equipercentile_equating, frequencies,
                                              frequency_estimation_distributions, frequency_estimation_equating,
                                              levine_observed_equating, levine_true_equating, linear_equating,
                                              mean_equating, percentile_inverse, percentile_rank, tucker_equating)

__all__ = [
    "EquatingResult",
    "frequencies",
    "percentile_rank",
    "percentile_inverse",
    "mean_equating",
    "linear_equating",
    "equipercentile_equating",
    "NeatData",
    "MOMENT_KEYS",
    "tucker_equating",
    "levine_observed_equating",
    "levine_true_equating",
    "chained_linear_equating",
    "frequency_estimation_distributions",
    "frequency_estimation_equating",
    "braun_holland_equating",
    "chained_equipercentile_equating",
    "NEAT_METHODS",
    "RANDOM_GROUPS_METHODS",
]
