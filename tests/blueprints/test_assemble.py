"""Assembly on small banks where the right forms are known by hand, each re-checked by verify."""
from __future__ import annotations

import numpy as np
import pytest

from blueprints.assemble import assemble
from blueprints.model import CharacteristicTarget, CountRule, Eligibility, InformationTarget
from blueprints.verify import FormDraft, verify_forms
from certbank_core.errors import AssemblyError

from .helpers import b_for_p, blueprint, make_pool


def ids(form):
    return set(form.item_ids)


def test_exact_area_counts_are_met_and_verified():
    pool = make_pool([{"item_id": f"X{i}", "area": "T.I"} for i in range(5)]
                     + [{"item_id": f"Y{i}", "area": "T.II"} for i in range(5)])
    result = assemble(blueprint(5, {"T.I": 3, "T.II": 2}), pool)
    form = result.forms[0]
    assert sum(i.startswith("X") for i in form.item_ids) == 3
    assert sum(i.startswith("Y") for i in form.item_ids) == 2
    assert [fi.position for fi in form.items] == [1, 2, 3, 4, 5]
    assert result.ok and result.solver.status == "optimal"
    frame = result.rules_frame()
    assert frame.loc[(frame["rule"] == "area:T.I"), "achieved"].item() == 3


def test_enemies_never_share_a_form():
    # Area I needs 2 of X0, X1, X2 and X0–X1 are enemies: the form must hold X2 and one of X0 / X1.
    pool = make_pool([{"item_id": f"X{i}", "area": "T.I"} for i in range(3)])
    result = assemble(blueprint(2, {"T.I": 2}), pool, [("X0", "X1")])
    assert "X2" in ids(result.forms[0]) and ids(result.forms[0]) != {"X0", "X1"}


def test_no_overlap_partitions_an_exact_pool():
    pool = make_pool([{"item_id": f"X{i}", "area": "T.I"} for i in range(6)])
    result = assemble(blueprint(3, {"T.I": 3}, max_overlap=0), pool, n_forms=2)
    a, b = (ids(f) for f in result.forms)
    assert not a & b and a | b == set(pool["item_id"])


def test_overlap_cap_of_one_with_five_items_for_two_forms_of_three():
    # 2 forms × 3 items from 5 items: they must share at least 1, and the cap allows exactly 1.
    pool = make_pool([{"item_id": f"X{i}", "area": "T.I"} for i in range(5)])
    result = assemble(blueprint(3, {"T.I": 3}, max_overlap=1), pool, n_forms=2)
    a, b = (ids(f) for f in result.forms)
    assert len(a & b) == 1 and result.ok


def test_key_balance_forces_one_item_per_key():
    keys = "AAABBBCCCDDD"
    pool = make_pool([{"item_id": f"X{i}", "area": "T.I", "key": k} for i, k in enumerate(keys)])
    extra = [CountRule(f"key:{k}", "key", (k,), 1, 1) for k in "ABCD"]
    result = assemble(blueprint(4, extra=extra), pool)
    on_form = pool.set_index("item_id").loc[list(result.forms[0].item_ids), "key"]
    assert sorted(on_form) == ["A", "B", "C", "D"]


def test_eligibility_excludes_unreviewed_recent_overexposed_and_fills_pretest_slots():
    pool = make_pool([
        {"item_id": "OK1", "area": "T.I"},
        {"item_id": "OK2", "area": "T.I"},
        {"item_id": "NOES", "area": "T.I", "es_status": "translated"},
        {"item_id": "RECENT", "area": "T.I", "last_used_form": "F-9"},
        {"item_id": "WORN", "area": "T.I", "exposure_count": 5},
        {"item_id": "DRAFT", "area": "T.I", "status": "draft"},
        {"item_id": "PRE1", "area": "T.I", "status": "pretest"},
    ])
    el = Eligibility(reviewed_languages=("en", "es"), exclude_last_forms=1, max_exposure=3)
    result = assemble(blueprint(2, {"T.I": 2}, eligibility=el, pretest_slots=1), pool, recent_forms=["F-9", "F-8"])
    form = result.forms[0]
    assert ids(form) == {"OK1", "OK2", "PRE1"}
    assert [fi.item_id for fi in form.items if fi.is_pretest] == ["PRE1"]


def test_tcc_target_picks_the_only_pair_in_band():
    # P(θ=0) of the four items: .9, .8, .3, .6. The only pair summing to 1.2 ± 0.05 is {.9, .3}.
    ps = {"P9": 0.9, "P8": 0.8, "P3": 0.3, "P6": 0.6}
    pool = make_pool([{"item_id": k, "area": "T.I", "a": 1.0, "b": b_for_p(p), "c": 0.0, "D": 1.0}
                      for k, p in ps.items()])
    bp = blueprint(2, characteristic=CharacteristicTarget(theta=(0.0,), values=(1.2,), tolerance=0.05))
    result = assemble(bp, pool)
    assert ids(result.forms[0]) == {"P9", "P3"}
    check = result.rules_frame().query("kind == 'characteristic'")
    assert check["achieved"].item() == pytest.approx(1.2) and check["passed"].item()
    assert result.solver.objective == pytest.approx(1.0, abs=0.01)  # the floor: inside the band


def test_maximin_picks_the_most_informative_items_at_theta():
    # 2PL at b = 0: I(0) = a²/4, so the best pair is the two largest slopes.
    slopes = {"S5": 0.5, "S9": 0.9, "S20": 2.0, "S15": 1.5, "S7": 0.7}
    pool = make_pool([{"item_id": k, "area": "T.I", "a": a, "b": 0.0, "c": 0.0, "D": 1.0} for k, a in slopes.items()])
    bp = blueprint(2, information=InformationTarget(theta=(0.0,), mode="maximin", tolerance=0.05))
    result = assemble(bp, pool)
    assert ids(result.forms[0]) == {"S20", "S15"}


def test_parallel_forms_meet_information_and_tcc_bands():
    from blueprints.synthetic import synthetic_pool

    pool, enemies = synthetic_pool(240, 4, rng=np.random.default_rng(7), n_enemy_pairs=20)
    bp = blueprint(30, {f"SYN.{r}": n for r, n in zip(("I", "II", "III", "IV"), (9, 7, 7, 7))}, max_overlap=0,
                   information=InformationTarget(tolerance=0.05), characteristic=CharacteristicTarget(tolerance=0.5))
    result = assemble(bp, pool, enemies, n_forms=3, seed=5)
    assert result.ok
    targets = result.rules_frame().query("kind in ['information', 'characteristic']")
    assert len(targets) == 3 * 6 and targets["passed"].all()


def test_targets_skipped_with_a_note_when_pool_has_no_irt_parameters():
    pool = make_pool([{"item_id": f"X{i}", "area": "T.I"} for i in range(4)])
    bp = blueprint(2, information=InformationTarget(), characteristic=CharacteristicTarget())
    result = assemble(bp, pool)
    assert result.ok and not result.targets
    assert any("targets skipped" in note for note in result.notes)


def test_counting_check_names_the_category_and_the_numbers():
    pool = make_pool([{"item_id": f"V{i}", "area": "T.VIII"} for i in range(2)]
                     + [{"item_id": "V9", "area": "T.VIII", "es_status": "translated"}]
                     + [{"item_id": f"O{i}", "area": "T.I"} for i in range(5)])
    with pytest.raises(AssemblyError) as err:
        assemble(blueprint(4, {"T.VIII": 3, "T.I": 1}), pool)
    assert ("Category VIII needs 3 operational items with reviewed Spanish text; the bank has 2 "
            "(1 more are excluded: 1 without reviewed Spanish text).") in str(err.value)


def test_counting_check_multiplies_by_forms_without_overlap():
    pool = make_pool([{"item_id": f"X{i}", "area": "T.I"} for i in range(5)])
    with pytest.raises(AssemblyError) as err:
        assemble(blueprint(3, {"T.I": 3}, max_overlap=0), pool, n_forms=2)
    assert "Category I needs 6 operational items with reviewed Spanish text (3 on each of 2 forms with no " \
           "shared items); the bank has 5." in str(err.value)


def test_elastic_resolve_says_which_rule_bends_on_which_form():
    # Enough items by count, but the only two Category I items are enemies: the content rule must bend.
    pool = make_pool([{"item_id": "X0", "area": "T.I"}, {"item_id": "X1", "area": "T.I"}]
                     + [{"item_id": f"Y{i}", "area": "T.II"} for i in range(4)])
    with pytest.raises(AssemblyError) as err:
        assemble(blueprint(4, {"T.I": 2, "T.II": 2}), pool, [("X0", "X1")], name="Form")
    message = str(err.value)
    assert "cannot all hold together" in message
    assert "Form A: Category I has 1 items; the blueprint asks for at least 2 (short by 1)." in message


def test_verify_catches_a_hand_broken_form():
    pool = make_pool([{"item_id": f"X{i}", "area": "T.I", "key": "AB"[i % 2]} for i in range(4)]
                     + [{"item_id": f"Y{i}", "area": "T.II"} for i in range(4)]
                     + [{"item_id": "P1", "area": "T.I", "status": "pretest"}])
    bp = blueprint(3, {"T.I": 2, "T.II": 1}, max_overlap=0)
    result = assemble(bp, pool, [("X0", "Y0")], n_forms=2)
    assert result.ok
    good = result.forms[0].draft()
    broken = FormDraft("Broken", ("X0", "Y0", "Y1", "P1"), (False, False, False, False))
    check = verify_forms(bp, pool, [good, broken, result.forms[1].draft()], [("X0", "Y0")])
    messages = " ".join(c.message for c in check.failures)
    assert not check.ok
    assert "Broken has 4 scored items; the exam needs 3." in messages
    assert "Broken holds enemies X0 and Y0." in messages
    assert "P1 has status pretest" in messages
    assert "Broken: Category II has 2 items; the blueprint allows at most 1 (1 too many)." in messages
    assert all(c.form.startswith("Broken") or c.kind == "overlap" for c in check.failures)


def test_same_seed_same_forms_and_order_by_area():
    pool = make_pool([{"item_id": f"{a}{i}", "area": f"T.{a}"} for a in ("I", "V") for i in range(6)])
    bp = blueprint(4, {"T.V": 2, "T.I": 2}, order="area")
    one = assemble(bp, pool, seed=3, n_forms=2)
    two = assemble(bp, pool, seed=3, n_forms=2)
    assert [f.item_ids for f in one.forms] == [f.item_ids for f in two.forms]
    areas = [pool.set_index("item_id").loc[i, "area"] for i in one.forms[0].item_ids]
    assert areas == ["T.V", "T.V", "T.I", "T.I"]  # blueprint order, not alphabetical


def test_result_frame_has_one_row_per_item_per_form():
    pool = make_pool([{"item_id": f"X{i}", "area": "T.I"} for i in range(6)])
    result = assemble(blueprint(2, {"T.I": 2}, max_overlap=0), pool, n_forms=3)
    frame = result.to_frame()
    assert len(frame) == 6 and set(frame["item_id"]) == set(pool["item_id"])
    assert list(frame.columns[:5]) == ["form", "position", "item_id", "version", "is_pretest"]


def test_elastic_resolve_bends_key_balance_when_content_needs_the_keys():
    # Category I needs 2 items and all of them are keyed A, but key A allows at most 1.
    pool = make_pool([{"item_id": f"X{i}", "area": "T.I", "key": "A"} for i in range(3)]
                     + [{"item_id": f"Y{i}", "area": "T.II", "key": "BC"[i % 2]} for i in range(4)])
    bp = blueprint(4, {"T.I": 2, "T.II": 2}, extra=[CountRule("key:A", "key", ("A",), None, 1, "key A")])
    with pytest.raises(AssemblyError) as err:
        assemble(bp, pool, name="Form")
    assert "Form A: key A has 2 items; the blueprint allows at most 1 (1 too many)." in str(err.value)


def test_maximin_information_with_a_tcc_band_keeps_forms_parallel():
    from blueprints.synthetic import synthetic_pool

    pool, _ = synthetic_pool(120, 2, rng=np.random.default_rng(11))
    bp = blueprint(20, {"SYN.I": 10, "SYN.II": 10}, max_overlap=0,
                   information=InformationTarget(theta=(0.0,), mode="maximin", tolerance=0.05),
                   characteristic=CharacteristicTarget(theta=(0.0,), tolerance=0.5))
    result = assemble(bp, pool, n_forms=2)
    frame = result.rules_frame()
    info = frame.query("kind == 'information'")["achieved"].to_numpy()
    reference = result.targets[0].values[0]
    assert result.ok and frame.query("kind == 'characteristic'")["passed"].all()
    assert info.min() > reference  # maximin lifts both forms above the average form
    assert abs(info[0] - info[1]) <= 0.05 * reference + 1e-6  # and keeps them within tolerance of each other


def test_a_constraints_table_alone_assembles(tmp_path):
    from blueprints.loading import load_blueprint

    table = tmp_path / "rules.csv"
    table.write_text("id,type,attribute,values,lower,upper,on\n"
                     "len,length,,,3,,on\n"
                     "I,count,area,T.I,2,2,on\n"
                     "langs,eligible,language,en;es,,,on\n")
    pool = make_pool([{"item_id": f"X{i}", "area": "T.I"} for i in range(3)]
                     + [{"item_id": f"Y{i}", "area": "T.II"} for i in range(3)]
                     + [{"item_id": "Z", "area": "T.I", "es_status": "draft"}])
    result = assemble(load_blueprint(table), pool)
    on_form = ids(result.forms[0])
    assert len(on_form) == 3 and len({"X0", "X1", "X2"} & on_form) == 2 and "Z" not in on_form


def test_random_order_is_reproducible_with_its_seed():
    pool = make_pool([{"item_id": f"{a}{i}", "area": f"T.{a}"} for a in ("I", "V") for i in range(8)])
    bp = blueprint(12, {"T.I": 6, "T.V": 6}, order="random", order_seed=5)
    first, second = assemble(bp, pool).forms[0].item_ids, assemble(bp, pool).forms[0].item_ids
    assert first == second
    areas = [i[0] for i in first]
    assert areas != sorted(areas) and areas != sorted(areas, reverse=True)  # not grouped by area


def test_targets_relative_to_a_reference_form_use_its_tcc_rescaled_to_length():
    # Reference form: R9 and R3 (P(0) = .9 and .3, TCC(0) = 1.2 for 2 items). New 2-item form from P8, P4, P6,
    # P5: only {P8, P4} = 1.2 is within ±0.05.
    rows = [{"item_id": k, "area": "T.I", "a": 1.0, "b": b_for_p(p), "c": 0.0, "D": 1.0,
             "status": "retired" if k.startswith("R") else "operational"}
            for k, p in {"R9": 0.9, "R3": 0.3, "P8": 0.8, "P4": 0.4, "P6": 0.6, "P5": 0.5}.items()]
    bp = blueprint(2, characteristic=CharacteristicTarget(theta=(0.0,), tolerance=0.05),
                   target_reference="form:OLD")
    result = assemble(bp, make_pool(rows), reference_items=["R9", "R3"])
    assert ids(result.forms[0]) == {"P8", "P4"}
    assert result.targets[0].values == pytest.approx((1.2,))
    assert any("form OLD's 2 items" in note for note in result.notes)
    with pytest.raises(AssemblyError, match="relative to form OLD"):
        assemble(bp, make_pool(rows))


def test_counting_check_with_an_overlap_cap_and_pretest_slots():
    # Two forms of 3 sharing at most 1 item need 2·3 − 1 = 5 distinct items; 2 pretest slots on each of the
    # 2 forms need 2·2 − 1 = 3 distinct pretest items (the cap counts every item on the forms).
    pool = make_pool([{"item_id": f"X{i}", "area": "T.I"} for i in range(4)]
                     + [{"item_id": "P1", "area": "T.I", "status": "pretest"}])
    with pytest.raises(AssemblyError) as err:
        assemble(blueprint(3, {"T.I": 3}, max_overlap=1, pretest_slots=2), pool, n_forms=2)
    text = str(err.value)
    assert ("Category I needs 5 operational items with reviewed Spanish text (3 per form, at most 1 shared by "
            "any two forms); the bank has 4.") in text
    assert "The pretest part of each form needs 3 pretest items" in text and "the bank has 1." in text
