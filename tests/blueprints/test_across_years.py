"""Rules across years on small hand-built pools: items without statistics, overlap with recent forms,
anchor blocks (with a reference form and within a run), the exposure cap over a run — each re-checked by
verify and, when impossible, refused in one sentence."""
from __future__ import annotations

from dataclasses import replace

import pytest

from blueprints.assemble import assemble
from blueprints.loading import parse_blueprint
from blueprints.model import Anchor, CharacteristicTarget, Eligibility, MeanRule
from blueprints.verify import FormDraft, verify_forms
from certbank_core.errors import AssemblyError, InputError

from .helpers import b_for_p, blueprint, make_pool

EL = Eligibility(reviewed_languages=("en", "es"))


def ids(form):
    return set(form.item_ids)


def _statted_pool():
    # S0–S3 have P = .9 (too easy for a mean-P ceiling of .8 on their own); N0–N3 have no statistics.
    return make_pool([{"item_id": f"S{i}", "area": "T.I", "p_value": 0.9} for i in range(4)]
                     + [{"item_id": f"N{i}", "area": "T.I"} for i in range(4)])


def test_without_statistics_exclude_allow_and_pretest():
    mean = MeanRule("mean_p", "p_value", 0.5, 0.95, "mean P")
    pool = _statted_pool()
    strict = blueprint(4, {"T.I": 4}, means=(mean,), eligibility=EL)
    assert ids(assemble(strict, pool).forms[0]) == {"S0", "S1", "S2", "S3"}
    with pytest.raises(AssemblyError, match="4 more are excluded: 4 without a p_value"):
        assemble(replace(strict, exam=replace(strict.exam, length=5), counts=()), pool)
    allow = blueprint(6, {"T.I": 6}, means=(mean,), eligibility=replace(EL, without_statistics="allow"))
    result = assemble(allow, pool)
    assert result.ok and len(ids(result.forms[0]) & {"N0", "N1", "N2", "N3"}) >= 2
    check = result.rules_frame().query("kind == 'mean'").iloc[0]
    assert check["achieved"] == pytest.approx(0.9) and "of 6 scored items with a p_value" in check["message"]
    assert any("without_statistics = \"allow\"" in n for n in result.notes)
    pre = blueprint(4, {"T.I": 4}, means=(mean,), pretest_slots=2,
                    eligibility=replace(EL, without_statistics="pretest"))
    form = assemble(pre, pool).forms[0]
    assert {fi.item_id for fi in form.items if not fi.is_pretest} == {"S0", "S1", "S2", "S3"}
    assert {fi.item_id for fi in form.items if fi.is_pretest} <= {"N0", "N1", "N2", "N3"}
    assert assemble(pre, pool).ok  # verify accepts an unstatted operational item in a pretest slot


def test_targets_count_calibrated_items_only_scaled_to_their_number():
    # TCC(0) target 2.4 ± 0.1 for 4 items is 0.6 ± 0.025 per calibrated item: with n calibrated items on the
    # form their TCC must lie in (2.4 ± 0.1)·n/4 (items without parameters are not in the sum).
    rows = [{"item_id": k, "area": "T.I", "a": 1.0, "b": b_for_p(p), "c": 0.0, "D": 1.0}
            for k, p in {"P9": 0.9, "P3": 0.3, "P8": 0.8, "P7": 0.7}.items()]
    rows += [{"item_id": f"N{i}", "area": "T.I"} for i in range(2)]
    bp = blueprint(4, {"T.I": 4}, eligibility=replace(EL, without_statistics="allow"),
                   characteristic=CharacteristicTarget(theta=(0.0,), values=(2.4,), tolerance=0.1))
    result = assemble(bp, make_pool(rows))
    n = len(ids(result.forms[0]) - {"N0", "N1"})
    check = result.rules_frame().query("kind == 'characteristic'").iloc[0]
    assert check["passed"] and check["lower"] == pytest.approx(2.3 * n / 4) and f"target × {n}/4" in check["message"]
    p0 = {"P9": 0.9, "P3": 0.3, "P8": 0.8, "P7": 0.7}
    assert sum(p0.get(i, 0.0) for i in ids(result.forms[0])) == pytest.approx(check["achieved"])


def test_overlap_with_recent_forms_is_capped_and_verified():
    pool = make_pool([{"item_id": f"X{i}", "area": "T.I"} for i in range(8)])
    last = FormDraft("OLD-2", ("X0", "X1", "X2", "X3"), (False,) * 4)
    older = FormDraft("OLD-1", ("X4", "X5", "X6", "X7"), (False,) * 4)
    bp = blueprint(4, {"T.I": 4}, max_shared_with_recent=1, recent_forms=2)
    with pytest.raises(AssemblyError, match="at most 1 items with the published form OLD-2"):
        # 4 items sharing ≤ 1 with each of two disjoint 4-item forms need 3 + 3 off-form items; there are 4.
        assemble(replace(bp, exam=replace(bp.exam, length=6), counts=()), pool, earlier_forms=[last, older])
    one = replace(bp, recent_forms=1)
    form = assemble(one, pool, earlier_forms=[last, older]).forms[0]
    assert len(ids(form) & set(last.item_ids)) <= 1
    broken = FormDraft("Broken", ("X0", "X1", "X4", "X5"), (False,) * 4)
    check = verify_forms(bp, pool, [broken], earlier_forms=[last, older])
    assert "Broken shares 2 items with the published form OLD-2; the blueprint allows at most 1." in \
        " ".join(c.message for c in check.failures)


def _anchor_pool(n_ref_calibrated: int):
    """Areas T.I (6 per form) and T.II (4): old form R holds R-I-0..5 and R-II-0..3; only the first
    ``n_ref_calibrated`` of each area's R items have parameters and statistics; 12 new items per area."""
    rows = []
    for area, k in (("T.I", 6), ("T.II", 4)):
        code = area.split(".")[1]
        for i in range(k):
            cal = i < n_ref_calibrated
            rows.append({"item_id": f"R-{code}-{i}", "area": area, "key": "ABCD"[i % 4],
                         **({"a": 1.0, "b": 0.0, "c": 0.0, "D": 1.0, "p_value": 0.7, "point_biserial": 0.3}
                            if cal else {})})
        rows += [{"item_id": f"N-{code}-{i}", "area": area} for i in range(12)]
    return make_pool(rows)


REF = FormDraft("R", tuple(f"R-{c}-{i}" for c, k in (("I", 6), ("II", 4)) for i in range(k)), (False,) * 10)


def test_anchor_block_with_the_latest_form_keeps_positions_and_proportion():
    # 10 items, min 4 anchors: T.I 6·4/10 = 2.4 → 2–3, T.II 1.6 → 1–2. Positions as on R.
    bp = blueprint(10, {"T.I": 6, "T.II": 4}, eligibility=replace(EL, without_statistics="allow"),
                   max_shared_with_recent=5, anchor=Anchor("latest", 4, True))
    result = assemble(bp, _anchor_pool(3), earlier_forms=[REF])
    form = result.forms[0]
    assert result.ok and len(form.anchor_items) == 4
    shared = ids(form) & set(REF.item_ids)
    assert 4 <= len(shared) <= 5
    ref_pos = REF.position_of()
    assert all(fi.position == ref_pos[fi.item_id] for fi in form.items if fi.item_id in shared)
    by_area = [i.split("-")[1] for i in form.anchor_items]
    assert 2 <= by_area.count("I") <= 3 and 1 <= by_area.count("II") <= 2
    kinds = result.rules_frame().set_index("kind")
    assert kinds.loc["anchor", "achieved"] >= 4 and kinds.loc["anchor_positions", "passed"]


def test_anchor_rule_that_cannot_be_met_is_one_sentence():
    bp = blueprint(10, {"T.I": 6, "T.II": 4}, eligibility=replace(EL, without_statistics="allow"),
                   anchor=Anchor("form:R", 4, True))
    with pytest.raises(AssemblyError) as err:
        assemble(bp, _anchor_pool(1), anchor_form=REF)  # only 1 calibrated item per area on R
    assert ("The anchor rule (anchor.min_items = 4, spread over the areas in proportion to the blueprint) needs 4 "
            "scored items of form R that have IRT parameters and statistics and are eligible now; form R can supply "
            "2 (per area, have of need: T.I 1 of 2).") in str(err.value)
    with pytest.raises(AssemblyError, match="taken from form R, but that form's items were not given"):
        assemble(bp, _anchor_pool(3))


def test_common_block_within_a_run_and_exposure_cap_over_the_run():
    pool = _anchor_pool(0)
    bp = blueprint(10, {"T.I": 6, "T.II": 4}, max_overlap=4, anchor=Anchor("", 4, True, True))
    result = assemble(bp, pool, n_forms=3, seed=2)
    common = set.intersection(*(ids(f) for f in result.forms))
    assert result.ok and len(common) >= 4 and len(result.forms[0].common_items) == 4
    positions = [{fi.item_id: fi.position for fi in f.items} for f in result.forms]
    assert all(len({p[i] for p in positions}) == 1 for i in common)
    # Exposure: items already on 1 form with max_exposure = 1 may join at most one more form of the run.
    worn = pool.assign(exposure_count=1)
    capped = replace(bp, eligibility=replace(EL, max_exposure=1), anchor=Anchor(), max_overlap=None)
    run = assemble(capped, worn, n_forms=2, seed=1)
    assert run.ok and not ids(run.forms[0]) & ids(run.forms[1])
    check = verify_forms(capped, worn, [run.forms[0].draft(), run.forms[0].draft()])
    assert any("would be on more than 2 published forms" in c.message for c in check.failures)


def test_toml_settings_are_read_and_checked():
    base = '[exam]\nname = "T"\nlength = 10\nframework = "T"\n[[content.areas]]\ncode = "T.I"\ncount = 10\n'
    bp = parse_blueprint(base + '[eligibility]\nwithout_statistics = "allow"\npretest_repeat = true\n'
                         '[rules]\nmax_shared_with_recent = 5\nrecent_forms = 3\n'
                         '[anchor]\nreference = "form:F-1"\nmin_items = 4\nshared_within_run = true\n')
    assert bp.eligibility.without_statistics == "allow" and bp.eligibility.pretest_repeat
    assert (bp.max_shared_with_recent, bp.recent_forms) == (5, 3)
    assert bp.anchor == Anchor("form:F-1", 4, True, True) and bp.anchor.reference_form == "F-1"
    with pytest.raises(InputError) as err:
        parse_blueprint(base + '[eligibility]\nwithout_statistics = "maybe"\n[rules]\nmax_shared_with_recent = 3\n'
                        '[anchor]\nreference = "latest"\nmin_items = 4\n')
    text = str(err.value)
    assert "eligibility.without_statistics: must be one of exclude, allow, pretest" in text
    assert "anchor.min_items: 4 is more than rules.max_shared_with_recent (3)" in text


def test_pretest_items_already_pretested_wait_for_promotion():
    pool = make_pool([{"item_id": "OP", "area": "T.I"},
                      {"item_id": "DONE", "area": "T.I", "status": "pretest", "exposure_count": 1, "p_value": 0.6},
                      {"item_id": "AGAIN", "area": "T.I", "status": "pretest", "exposure_count": 1},
                      {"item_id": "NEW", "area": "T.I", "status": "pretest"}])
    bp = blueprint(1, {"T.I": 1}, pretest_slots=2)
    assert ids(assemble(bp, pool).forms[0]) == {"OP", "AGAIN", "NEW"}
    again = replace(bp, exam=replace(bp.exam, pretest_slots=3), eligibility=replace(EL, pretest_repeat=True))
    assert ids(assemble(again, pool).forms[0]) == {"OP", "DONE", "AGAIN", "NEW"}
