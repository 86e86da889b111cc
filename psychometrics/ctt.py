"""Classical item and test analysis: the one import for callers (``from psychometrics.ctt import ...``).

The work lives in four modules, one concern each:

* ``ctt_formulas`` — the formulas (alpha, Feldt interval, Spearman–Brown, biserial, binomial CSEM, ...), each
  with its source;
* ``ctt_results`` — the frozen result dataclasses (``ItemStatistics`` ... ``GroupedAnalysis``) and their frames;
* ``ctt_engine`` — the single-pass vectorized analysis (``analyze``, ``analyze_by_group``, ``count_table``,
  ``part_sums``), with the conventions it follows (Iteman 4 manual) in its docstring;
* ``ctt_report`` — ``analyze_responses`` and ``ClassicalReport``: flags, the files of ``certbank analyze`` and
  the frames saved in the bank.

This module re-exports every public name of the four.
"""
from __future__ import annotations

from psychometrics.ctt_engine import (DEFAULT_QUANTILES, DEFAULT_SPLIT_SEED, MAX_QUANTILES, MIN_QUANTILES,
                                      NOT_REACHED_LABEL, OMIT_LABEL, ROWS_PER_BLOCK, analyze, analyze_by_group,
                                      count_table, part_sums)
from psychometrics.ctt_formulas import (DEFAULT_CI_LEVEL, alpha_from_scores, alpha_if_item_deleted,
                                        binomial_csem, biserial_from_point_biserial, coefficient_alpha,
                                        correlation_from_moments, disattenuated_correlation, feldt_interval,
                                        frequency_median, frequency_moments, guttman_split_half, score_groups,
                                        spearman_brown, standard_error_of_measurement)
from psychometrics.ctt_report import OUTPUT_FILES, ClassicalReport, analyze_responses
from psychometrics.ctt_results import (GroupedAnalysis, ItemAnalysis, ItemStatistics, OptionStatistics,
                                       QuantileTable, SplitHalf, SubscoreStatistics, TestStatistics)
from psychometrics.responses import ResponseMatrix

__all__ = [
    "DEFAULT_CI_LEVEL", "DEFAULT_QUANTILES", "DEFAULT_SPLIT_SEED", "MAX_QUANTILES", "MIN_QUANTILES",
    "NOT_REACHED_LABEL", "OMIT_LABEL", "OUTPUT_FILES", "ROWS_PER_BLOCK",
    "alpha_from_scores", "alpha_if_item_deleted", "binomial_csem", "biserial_from_point_biserial",
    "coefficient_alpha", "correlation_from_moments", "disattenuated_correlation", "feldt_interval",
    "frequency_median", "frequency_moments", "guttman_split_half", "score_groups", "spearman_brown",
    "standard_error_of_measurement",
    "ItemStatistics", "OptionStatistics", "QuantileTable", "SplitHalf", "TestStatistics", "SubscoreStatistics",
    "ItemAnalysis", "GroupedAnalysis", "ResponseMatrix",
    "analyze", "analyze_by_group", "count_table", "part_sums",
    "ClassicalReport", "analyze_responses",
]
