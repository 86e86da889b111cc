"""Job (practice) analysis: from practitioners' ratings of competencies to the exam's content weights.

* ``ratings`` — per competency n, importance and frequency means and SDs, share not performed, the
  criticality index (mean of importance × frequency per respondent; Raymond & Neustel 2006), the program's
  inclusion rule; area weights from criticality and item counts by bounded largest-remainder rounding;
  a simulated survey with known true weights;
* ``agreement`` — r_wg and r_wg(J) (James, Demaree & Wolf 1984), ICC(1/2/3, 1/k) (Shrout & Fleiss 1979),
  and each respondent group against the rest with Hedges' g (Hedges & Olkin 1985).
"""
from __future__ import annotations

from psychometrics.jta.agreement import IntraclassResult, intraclass, rwg, rwg_j
from psychometrics.jta.ratings import (FREQUENCY_MAX, IMPORTANCE_MAX, CompetencyRatings, InclusionRule,
                                       competency_ratings)
from psychometrics.jta.agreement import SubgroupComparison, compare_subgroups, hedges_g
from psychometrics.jta.ratings import AreaAllocation, allocate_items, area_weights, largest_remainder

__all__ = ["IntraclassResult", "intraclass", "rwg", "rwg_j", "FREQUENCY_MAX", "IMPORTANCE_MAX",
           "CompetencyRatings", "InclusionRule", "competency_ratings", "SubgroupComparison", "compare_subgroups",
           "hedges_g", "AreaAllocation", "allocate_items", "area_weights", "largest_remainder"]
