"""Properties: verify counts like a hand count whatever the form, and assembly ignores pool row order."""
from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from blueprints.assemble import assemble
from blueprints.model import CountRule
from blueprints.verify import FormDraft, verify_forms

from .helpers import blueprint, make_pool

AREAS = ("T.I", "T.II", "T.III")
POOL = make_pool([{"item_id": f"I{n:02d}", "area": AREAS[n % 3], "key": "ABCD"[n % 4]} for n in range(24)])


@settings(max_examples=25, deadline=None)
@given(st.lists(st.integers(0, 23), min_size=1, max_size=12, unique=True))
def test_verify_counts_match_a_hand_count(chosen):
    ids = tuple(f"I{n:02d}" for n in chosen)
    bp = blueprint(len(ids), {"T.I": 2}, extra=[CountRule("key:A", "key", ("A",), 0, 3)])
    check = verify_forms(bp, POOL, [FormDraft("F", ids, (False,) * len(ids))]).to_frame().set_index("rule")
    n_area = sum(AREAS[n % 3] == "T.I" for n in chosen)
    n_key = sum("ABCD"[n % 4] == "A" for n in chosen)
    assert check.loc["area:T.I", "achieved"] == n_area
    assert check.loc["area:T.I", "passed"] == (n_area == 2)
    assert check.loc["key:A", "passed"] == (n_key <= 3)


@settings(max_examples=5, deadline=None)
@given(st.integers(0, 2**32 - 1))
def test_forms_meet_the_blueprint_whatever_the_pool_row_order(seed):
    shuffled = POOL.iloc[np.random.default_rng(seed).permutation(len(POOL))]
    bp = blueprint(6, {"T.I": 2, "T.II": 2, "T.III": 2}, max_overlap=0,
                   extra=[CountRule("key:A", "key", ("A",), 1, 2)])
    result = assemble(bp, shuffled, [("I00", "I03")], n_forms=3)
    assert result.ok
    assert len({i for f in result.forms for i in f.item_ids}) == 18
