"""Classical item and test analysis: the one import for callers (``from psychometrics.ctt import ...``).

The work lives in four modules, one concern each:

* ``formulas`` — the formulas (alpha, Feldt interval, Spearman–Brown, biserial, binomial CSEM, ...), each
  with its source;
* ``results`` — the frozen result dataclasses (``ItemStatistics`` ... ``GroupedAnalysis``) and their frames;
* ``engine`` — the single-pass vectorized analysis (``analyze``, ``analyze_by_group``, ``count_table``,
  ``part_sums``), with the conventions it follows (Iteman 4 manual) in its docstring;
* ``report`` — ``analyze_responses`` and ``ClassicalReport``: the analysis with its flags, the tables of
  ``certbank analyze`` and the frames saved in the bank (``workflows.analysis`` writes them).

This module re-exports every public name of the four.
"""
from __future__ import annotations

from psychometrics.ctt.engine import (DEFAULT_QUANTILES, DEFAULT_SPLIT_SEED, MAX_QUANTILES, MIN_QUANTILES,
                                      NOT_REACHED_LABEL, OMIT_LABEL, ROWS_PER_BLOCK, analyze, analyze_by_group,
                                      count_table, part_sums)
from psychometrics.ctt.formulas import (DEFAULT_CI_LEVEL, alpha_from_scores, alpha_if_item_deleted, binomial_csem,
                                        biserial_from_point_biserial, coefficient_alpha, correlation_from_moments,
                                        disattenuated_correlation, feldt_interval, frequency_median, frequency_moments,
                                        guttman_lambda6, guttman_split_half, score_groups, spearman_brown,
                                        standard_error_of_measurement, standardized_alpha)
from psychometrics.ctt.report import OUTPUT_FILES, ClassicalReport, analyze_responses
from psychometrics.ctt.results import (GroupedAnalysis, ItemAnalysis, ItemStatistics, OptionStatistics, QuantileTable,
                                       SplitHalf, SubscoreStatistics, TestStatistics)
from psychometrics.responses import ResponseMatrix

__all__ = [
    "standardized_alpha", "guttman_lambda6",
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
