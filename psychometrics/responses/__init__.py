"""Candidate responses as numbers: the response matrix, scoring, and the rules of a response table.

* ``matrix`` — ``ResponseMatrix`` (codes, 0/1 scores with NaN for not reached, groups) and scoring from option
  labels or 0/1 data, with the omitted / not-reached conventions of the Iteman 4 manual;
* ``cells`` — a table's cells column by column (``Columns``) and the collector of problems (``Problems``);
* ``parsing`` — checking a response, key or areas table and turning it into a ``ResponseMatrix`` or a dict.

Reading files into cells is the application's (``workflows.tables``, ``workflows.responses``).
"""
from __future__ import annotations

from psychometrics.responses.cells import MAX_LISTED_PER_KIND, Columns, Problems, clean_cells, clean_value
from psychometrics.responses.matrix import (CANDIDATE_COLUMN, CODE_NOT_REACHED, CODE_OMIT, FORM_COLUMN, LANGUAGE_COLUMN,
                                            N_CODES, NO_RESPONSE, OPTION_LABELS, SCORED_LABELS, ResponseMatrix,
                                            from_cells, from_labels, from_option_codes, from_scored,
                                            not_reached_mask, score)
from psychometrics.responses.parsing import (KIND_INVALID, KIND_NONE, KIND_ONE, KIND_ZERO, parse_item_areas, parse_key,
                                             parse_responses)

__all__ = [
    "OPTION_LABELS",
    "NO_RESPONSE",
    "CANDIDATE_COLUMN",
    "FORM_COLUMN",
    "LANGUAGE_COLUMN",
    "CODE_OMIT",
    "CODE_NOT_REACHED",
    "N_CODES",
    "SCORED_LABELS",
    "ResponseMatrix",
    "not_reached_mask",
    "score",
    "from_labels",
    "from_scored",
    "from_option_codes",
    "from_cells",
    "MAX_LISTED_PER_KIND",
    "Problems",
    "clean_cells",
    "clean_value",
    "Columns",
    "KIND_NONE",
    "KIND_ZERO",
    "KIND_ONE",
    "KIND_INVALID",
    "parse_key",
    "parse_item_areas",
    "parse_responses",
]
