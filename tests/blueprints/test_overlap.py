"""Pairwise overlap between the forms of a run when they share a common block: the block is counted against the
overlap budget by its own columns (constraints._pairwise_overlap). The forms are checked by verify_forms,
independently of the model."""
from __future__ import annotations

from itertools import combinations
from pathlib import Path

import numpy as np
import pytest
from scipy.optimize import Bounds, LinearConstraint, milp

from blueprints.assemble import assemble, build_model
from blueprints.constraints import TIE_BREAK
from blueprints.loading import load_blueprint
from blueprints.model import Anchor
from blueprints.pool import eligible_pool
from blueprints.verify import FormDraft, verify_forms
from itembank.sample_loader import create_sample_bank
from itembank.store import Bank
from workflows.assembly import pool_and_enemies

from .helpers import blueprint, make_pool

DEFAULT = Path(__file__).resolve().parents[2] / "blueprints" / "default" / "peer_support.toml"


def ids(form) -> set[str]:
    return set(form.item_ids)


def _pool():
    """Areas T.I and T.II, 12 items each, keys spread over A–D."""
    return make_pool([{"item_id": f"{a}-{i}", "area": f"T.{a}", "key": "ABCD"[i % 4]}
                      for a in ("I", "II") for i in range(12)])


def _rows_hold(bp, pool, forms: list[set[str]]) -> bool:
    """Whether the joint model's rows admit these forms: x fixed to them, the continuous columns (the common
    block's z, the overlap's w) free; an LP that is feasible exactly when some z and w fit."""
    model, items = build_model(bp, eligible_pool(bp, pool), (), len(forms))
    n = len(items)
    lb, ub = np.asarray(model.col_lb, float), np.asarray(model.col_ub, float)
    for f, chosen in enumerate(forms):
        on = items["item_id"].isin(chosen).to_numpy(float)
        lb[f * n:(f + 1) * n] = ub[f * n:(f + 1) * n] = on
    res = milp(np.zeros(model.n), integrality=np.zeros(model.n), bounds=Bounds(lb, ub),
               constraints=LinearConstraint(model.matrix(), model.lo, model.hi))
    return res.status == 0


def test_a_budget_equal_to_the_block_leaves_forms_sharing_exactly_the_block():
    bp = blueprint(8, {"T.I": 4, "T.II": 4}, max_overlap=4, anchor=Anchor("", 4, False, True))
    result = assemble(bp, _pool(), n_forms=3, seed=5)
    assert result.ok and result.solver.method == "joint" and result.solver.status == "optimal"
    check = verify_forms(bp, _pool(), [f.draft() for f in result.forms])
    assert check.ok
    common = set.intersection(*(ids(f) for f in result.forms))
    assert len(common) == 4
    for f, g in combinations(result.forms, 2):
        assert ids(f) & ids(g) == common  # nothing beyond the block: the block used the whole budget
    # Without targets the objective is the tie-break alone.
    assert 0.0 < result.solver.objective <= TIE_BREAK


def test_the_overlap_rows_with_a_block_admit_exactly_the_forms_within_the_budget():
    # K = 5 with a block of 4 (2 per area): one more shared item per pair fits, two do not.
    bp = blueprint(8, {"T.I": 4, "T.II": 4}, max_overlap=5, anchor=Anchor("", 4, False, True))
    block = {"I-0", "I-1", "II-0", "II-1"}
    a = block | {"I-2", "I-3", "II-2", "II-3"}
    c = block | {"I-6", "I-7", "II-6", "II-7"}
    b_one = block | {"I-2", "I-4", "II-4", "II-5"}  # shares 5 with A
    b_two = block | {"I-2", "I-3", "II-4", "II-5"}  # shares 6 with A
    assert _rows_hold(bp, _pool(), [a, b_one, c])
    assert not _rows_hold(bp, _pool(), [a, b_two, c])
    assert not verify_forms(bp, _pool(), [_draft("A", a), _draft("B", b_two), _draft("C", c)]).ok
    # Without a block of 4 on every form (C keeps only 3 of it) the block rows fail, whatever the overlap.
    assert not _rows_hold(bp, _pool(), [a, b_one, (c - {"I-0"}) | {"I-8"}])


def _draft(name: str, chosen: set[str]) -> FormDraft:
    return FormDraft(name, tuple(sorted(chosen)), (False,) * len(chosen))


@pytest.fixture(scope="module")
def sample(tmp_path_factory):
    path = tmp_path_factory.mktemp("overlap") / "bank.db"
    create_sample_bank(path, user="tester")
    with Bank.open(path, user="tester") as bank:
        pool, enemies = pool_and_enemies(bank)
    return load_blueprint(DEFAULT), pool, enemies


def test_three_sample_forms_of_the_default_blueprint_are_quick_verified_and_reproducible(sample):
    bp, pool, enemies = sample
    first = assemble(bp, pool, enemies, n_forms=3, seed=7)
    again = assemble(bp, pool, enemies, n_forms=3, seed=7)
    assert first.ok and first.solver.status == "optimal" and first.solver.seconds < 5.0
    assert [f.item_ids for f in first.forms] == [f.item_ids for f in again.forms]
    check = verify_forms(bp, eligible_pool(bp, pool).pool, [f.draft() for f in first.forms], enemies)
    assert check.ok
    common = set.intersection(*(ids(f) for f in first.forms))
    assert len(common) >= bp.anchor.min_items
    assert all(len(ids(f) & ids(g)) <= bp.max_overlap for f, g in combinations(first.forms, 2))
