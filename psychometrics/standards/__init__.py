"""Cut scores and what a standard means for candidates.

* ``setting`` — modified Angoff, Bookmark (RP .67), Hofstee and Beuk, and impact at the cut;
* ``carrying`` — one θ standard carried to every form through its test characteristic curve;
* ``scaling`` — the reporting scale (raw → θ → scaled score) and per-candidate results;
* ``decision`` — CSEM at the cut and decision accuracy/consistency (Livingston & Lewis 1995, Huynh 1976,
  Subkoviak 1976, Rudner 2005, Lee 2010, Livingston's K²).
"""
from __future__ import annotations

from psychometrics.standards.carrying import StandardAcrossForms, carry_standard
from psychometrics.standards.decision import (BETA_BINS, DecisionResult, csem_irt, csem_keats, csem_lord,
                                              decision_summary, four_parameter_beta, huynh, kr21, lee_classification,
                                              livingston_k2, livingston_lewis, rudner, subkoviak, true_score_moments)
from psychometrics.standards.scaling import (AREA_NOTE, DEFAULT_SCALE_CUT, DEFAULT_SCALE_HIGH, DEFAULT_SCALE_LOW,
                                             DEFAULT_SLOPE, DEFAULT_THETA_RANGE, THETA_CUT_LIMIT, ScaleDefinition,
                                             conversion_table, make_standard, scale_from_dict, score_candidates)
from psychometrics.standards.setting import (DEFAULT_RP, IMPACT_SE_STEPS, LOW_REALITY_CORRELATION,
                                             MIN_RATERS_FOR_OUTLIER, OUTLIER_Z, AngoffRatings, AngoffResult,
                                             BookmarkResult, CompromiseResult, beuk, bookmark, hofstee, impact,
                                             modified_angoff, normal_cut_interval, ordered_item_booklet, rp_location)

__all__ = [
    "OUTLIER_Z",
    "MIN_RATERS_FOR_OUTLIER",
    "LOW_REALITY_CORRELATION",
    "DEFAULT_RP",
    "IMPACT_SE_STEPS",
    "AngoffRatings",
    "AngoffResult",
    "modified_angoff",
    "rp_location",
    "BookmarkResult",
    "ordered_item_booklet",
    "bookmark",
    "CompromiseResult",
    "hofstee",
    "beuk",
    "impact",
    "normal_cut_interval",
    "StandardAcrossForms",
    "carry_standard",
    "DEFAULT_SCALE_LOW",
    "DEFAULT_SCALE_HIGH",
    "DEFAULT_SCALE_CUT",
    "DEFAULT_SLOPE",
    "DEFAULT_THETA_RANGE",
    "AREA_NOTE",
    "ScaleDefinition",
    "conversion_table",
    "score_candidates",
    "THETA_CUT_LIMIT",
    "make_standard",
    "scale_from_dict",
    "BETA_BINS",
    "DecisionResult",
    "kr21",
    "csem_lord",
    "csem_keats",
    "csem_irt",
    "true_score_moments",
    "four_parameter_beta",
    "huynh",
    "livingston_lewis",
    "subkoviak",
    "rudner",
    "lee_classification",
    "livingston_k2",
    "decision_summary",
]
