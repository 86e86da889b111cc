"""The two-stage method for disjoint forms (choose the union, then split it): its forms pass verify's
independent check, it is reproducible by seed, it gives way to the joint model when a split fails or the
blueprint is outside what it covers, and its one-binary split model is the same problem as the two-form one."""
from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

import blueprints.decompose as decompose
from blueprints.assemble import assemble, eligible_pool
from blueprints.constraints import TIE_BREAK, build_model
from blueprints.model import CharacteristicTarget, CountRule, InformationTarget, MeanRule
from blueprints.synthetic import synthetic_pool
from blueprints.verify import FormDraft, verify_forms
from certbank_core.errors import AssemblyError

from .helpers import b_for_p, blueprint, make_pool

AREAS = {"SYN.I": 9, "SYN.II": 7, "SYN.III": 7, "SYN.IV": 7}


def _bank(n_items: int = 240, pretest: int = 12, seed: int = 7):
    pool, enemies = synthetic_pool(n_items, 4, rng=np.random.default_rng(seed), n_enemy_pairs=n_items // 10)
    pool.loc[pool.index[:pretest], "status"] = "pretest"
    pool["p_value"] = np.random.default_rng(seed + 1).uniform(0.3, 0.9, len(pool))
    return pool, enemies


def _blueprint(**kwargs):
    keys = [CountRule(f"key:{k}", "key", (k,), 5, 10) for k in "ABCD"]
    return blueprint(30, AREAS, max_overlap=0, extra=keys, pretest_slots=2,
                     means=(MeanRule("mean_p", "p_value", 0.55, 0.65, "mean P"),),
                     information=InformationTarget(tolerance=0.05), characteristic=CharacteristicTarget(tolerance=0.5),
                     **kwargs)


def _check(bp, pool, enemies, result, **kwargs):
    view = eligible_pool(bp, pool, **kwargs)
    return verify_forms(bp, view.pool, [f.draft() for f in result.forms], enemies, targets=view.targets,
                        **kwargs)


def test_two_stage_forms_hold_every_rule_by_the_independent_check():
    pool, enemies = _bank()
    bp = _blueprint()
    result = assemble(bp, pool, enemies, n_forms=3, seed=5)
    assert result.solver.method == "two-stage" and "Two-stage assembly" in " ".join(result.notes)
    check = _check(bp, pool, enemies, result)
    assert check.ok and result.ok
    frame = check.to_frame()
    assert frame.query("kind in ['information', 'characteristic']")["passed"].all()  # every band, every form
    forms = [set(f.item_ids) for f in result.forms]
    assert all(len(f) == 32 for f in forms) and not (forms[0] & forms[1] or forms[0] & forms[2] or forms[1] & forms[2])
    assert all(sum(fi.is_pretest for fi in f.items) == 2 for f in result.forms)
    on = {i: k for k, f in enumerate(forms) for i in f}
    assert not [(a, b) for a, b in enemies if a in on and on[a] == on.get(b)]
    s = result.solver
    assert s.status == "optimal" and s.bound == 1.0 and s.objective <= 1.0 + TIE_BREAK + 1e-9
    assert s.n_variables < len(pool) * 3  # the union model and the splits, not n·N binaries


def test_two_stage_is_reproducible_by_seed_and_seeds_differ():
    pool, enemies = _bank()
    bp = _blueprint()
    first = assemble(bp, pool, enemies, n_forms=3, seed=11)
    again = assemble(bp, pool, enemies, n_forms=3, seed=11)
    other = assemble(bp, pool, enemies, n_forms=3, seed=12)
    assert [f.item_ids for f in first.forms] == [f.item_ids for f in again.forms]
    assert {frozenset(f.item_ids) for f in first.forms} != {frozenset(f.item_ids) for f in other.forms}
    assert other.ok and first.ok


def test_a_failed_split_gives_way_to_the_joint_model(monkeypatch):
    pool, enemies = _bank()
    bp = _blueprint()
    real = decompose.build_model

    def impossible_split(*args, **kwargs):
        model, items = real(*args, **kwargs)
        if args[3] == 2:  # a split: ask for one more scored item than it holds
            model.row(np.arange(len(items)), 1.0, len(items) + 1, np.inf)
        return model, items

    monkeypatch.setattr(decompose, "build_model", impossible_split)
    result = assemble(bp, pool, enemies, n_forms=3, seed=5)
    assert result.solver.method == "joint"
    assert any("gave way to the joint model" in n and "could not split" in n for n in result.notes)
    assert _check(bp, pool, enemies, result).ok


def test_method_choice_and_what_the_two_stage_method_does_not_cover():
    pool, enemies = _bank()
    bp = _blueprint()
    assert assemble(bp, pool, enemies, n_forms=2, method="joint").solver.method == "joint"
    assert assemble(bp, pool, enemies, n_forms=1).solver.method == "joint"
    shared = replace(bp, max_overlap=5)
    result = assemble(shared, pool, enemies, n_forms=2)
    assert result.solver.method == "joint" and result.ok
    with pytest.raises(AssemblyError, match="does not cover forms may share items"):
        assemble(shared, pool, enemies, n_forms=2, method="two-stage")
    with pytest.raises(AssemblyError, match="unknown assembly method"):
        assemble(bp, pool, enemies, n_forms=2, method="fast")


def test_recent_form_cap_holds_per_form_through_both_stages():
    pool, enemies = _bank()
    scored = pool.loc[pool["status"] == "operational", "item_id"].tolist()
    last = FormDraft("OLD-1", tuple(scored[:60]), (False,) * 60)
    bp = _blueprint(max_shared_with_recent=3, recent_forms=1)
    result = assemble(bp, pool, enemies, n_forms=3, seed=2, earlier_forms=[last])
    assert result.solver.method == "two-stage"
    assert all(len(set(f.item_ids) & set(last.item_ids)) <= 3 for f in result.forms)
    assert _check(bp, pool, enemies, result, earlier_forms=[last]).ok


def test_infeasible_union_goes_to_the_plain_diagnosis():
    # Two disjoint forms of 3 need all 6 items, 4 of them keyed B, but key B allows 1 per form: stage 1 (2 for
    # the union) is infeasible, which proves the forms are, so the elastic re-solve says what bends (the
    # cheapest bend is sharing items: overlap bends before content).
    pool = make_pool([{"item_id": f"X{i}", "area": "T.I", "key": "AB"[i < 4]} for i in range(6)])
    bp = blueprint(3, {"T.I": 3}, max_overlap=0, extra=[CountRule("key:B", "key", ("B",), None, 1, "key B")])
    view = eligible_pool(bp, pool)
    staged = decompose.two_stage(bp, view, (), 2, rng=None, time_limit=10, gap=0.01)
    assert staged.x is None and staged.infeasible
    with pytest.raises(AssemblyError, match="cannot all hold together") as err:
        assemble(bp, pool, n_forms=2, name="Form")
    assert "Form A and Form B share 2 items; the blueprint allows at most 0." in str(err.value)


def test_the_one_binary_split_is_the_two_form_model():
    # Same optimum for the split with x[i,1] = 1 − x[i,0] substituted as for the model with both columns
    # (16 items, areas dealt round robin, into two forms of 8 with 2 per area; solved to a zero gap).
    pool, enemies = _bank(n_items=64, pretest=0, seed=3)
    base = _blueprint()
    bp = replace(base, exam=replace(base.exam, length=8, pretest_slots=0), means=(),
                 counts=tuple(CountRule(f"area:{a}", "area", (a,), 2, 2) for a in AREAS))
    view = eligible_pool(bp, pool)
    part = replace(view, scored=view.scored.iloc[:16])
    model, items = build_model(bp, part, enemies, 2, copies=(1, 1))
    res_full, full = model.solve(30, 0.0)
    res_one, one = decompose.complemented(model, len(items)).solve(30, 0.0)
    assert full.status == one.status == "optimal" and one.n_variables < full.n_variables
    assert full.objective == pytest.approx(one.objective, rel=1e-6)
    n = len(items)
    assert np.allclose(res_full.x[:n] + res_full.x[n:2 * n], 1)  # the two-form model partitions too
    first = res_one.x[:n] > 0.5
    assert first.sum() == 8
    drafts = [FormDraft(name, tuple(items["item_id"][side]), (False,) * 8) for name, side in (("A", first),
                                                                                            ("B", ~first))]
    assert verify_forms(replace(bp, information=None, characteristic=None), view.pool, drafts, enemies).ok


def test_bands_out_of_reach_fall_back_to_the_soft_model():
    # In-band first finds nothing (no two of P = .9, .8, .3, .6 sum to 2.5 ± 0.05), so the soft model runs
    # and returns the closest pair, {.9, .8}, with the miss in the objective and in the check.
    ps = {"P9": 0.9, "P8": 0.8, "P3": 0.3, "P6": 0.6}
    pool = make_pool([{"item_id": k, "area": "T.I", "a": 1.0, "b": b_for_p(p), "c": 0.0, "D": 1.0}
                      for k, p in ps.items()])
    bp = blueprint(2, characteristic=CharacteristicTarget(theta=(0.0,), values=(2.5,), tolerance=0.05))
    result = assemble(bp, pool)
    assert set(result.forms[0].item_ids) == {"P9", "P8"}
    check = result.rules_frame().query("kind == 'characteristic'")
    assert check["achieved"].item() == pytest.approx(1.7) and not check["passed"].item()
    # 1 + d with d the miss beyond the band in tolerances: (2.45 − 1.7) / 0.05 = 15.
    assert result.solver.objective == pytest.approx(16.0, abs=0.01) and result.solver.bound > 1.0  # the soft bound


def test_per_item_targets_with_uncalibrated_items_through_both_stages():
    # With without_statistics = "allow" a band scales with the calibrated items on each form; stage 1 sums
    # that over the union and each split keeps it per form.
    pool, enemies = _bank()
    pool.loc[pool.index[20:60], ["a", "b"]] = np.nan  # 40 scored items without parameters
    base = _blueprint()
    bp = replace(base, means=(), eligibility=replace(base.eligibility, without_statistics="allow"))
    result = assemble(bp, pool, enemies, n_forms=3, seed=4)
    assert result.solver.method == "two-stage"
    check = _check(bp, pool, enemies, result)
    assert check.ok
    bands = check.to_frame().query("kind in ['information', 'characteristic']")
    assert bands["passed"].all() and bands["message"].str.contains("calibrated scored items").all()
