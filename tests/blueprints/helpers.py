"""Small hand-built item pools (the columns of Bank.item_pool()) whose best forms are known by hand."""
from __future__ import annotations

import math

import numpy as np
import pandas as pd

from blueprints.model import Blueprint, CountRule, Eligibility, Exam


def make_pool(rows: list[dict]) -> pd.DataFrame:
    """Rows need item_id and area; everything else defaults to an operational, bilingual, reviewed item."""
    base = {"version": 1, "status": "operational", "cognitive_level": "application", "key": "A", "n_options": 4,
            "languages": "en;es", "es_status": "reviewed", "exposure_count": 0, "last_used_form": "",
            "p_value": np.nan, "point_biserial": np.nan, "a": np.nan, "b": np.nan, "c": np.nan, "D": np.nan}
    out = []
    for row in rows:
        full = {**base, **row}
        full.setdefault("primary_competency", full["area"] + ".1")
        out.append(full)
    return pd.DataFrame(out)


def area_rules(counts: dict[str, int]) -> tuple[CountRule, ...]:
    return tuple(CountRule(f"area:{code}", "area", (code,), n, n, f"Category {code.split('.')[-1]}")
                 for code, n in counts.items())


def blueprint(length: int, counts: dict[str, int] | None = None, **kwargs) -> Blueprint:
    exam = Exam("Test", length, kwargs.pop("pretest_slots", 0), ("en", "es"), "T")
    eligibility = kwargs.pop("eligibility", Eligibility(reviewed_languages=("en", "es")))
    rules = area_rules(counts or {}) + tuple(kwargs.pop("extra", ()))
    return Blueprint(exam=exam, eligibility=eligibility, counts=rules, **kwargs)


def b_for_p(p: float) -> float:
    """The difficulty that gives P(θ=0) = p for a 2PL item with a = 1, D = 1: b = −logit(p)."""
    return -math.log(p / (1.0 - p))
