"""The shipped blueprint year after year on the sample bank: year 1 (no statistics) gives two parallel forms
with a common block; after form A is published, analysed and calibrated, year 2 gives a new form with an
anchor block from form A; year 3 anchors to year 2's form. Each year is re-checked independently."""
from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from blueprints.loading import load_blueprint
from itembank.sample_loader import create_sample_bank
from itembank.store import Bank
from workflows.assembly import assemble_into_bank, form_verification, recent_published_form_items


def _publish_and_analyse(bank, form_id: str, rng: np.random.Generator, label: str) -> None:
    """Publish the form, then save statistics and 3PL parameters for every item on it (pretest items too),
    as `analyze --save-to-bank` and `calibrate --save` would after its administration."""
    bank.set_form_status(form_id, "approved")
    bank.set_form_status(form_id, "published")
    ids = list(bank.get_form(form_id).item_ids)
    n = len(ids)
    bank.save_item_statistics(pd.DataFrame({"item_id": ids, "n": 800, "p_value": rng.uniform(0.5, 0.9, n),
                                            "point_biserial": rng.uniform(0.15, 0.5, n)}), label)
    bank.save_item_parameters(pd.DataFrame({"item_id": ids, "a": np.exp(rng.normal(0, 0.25, n)),
                                            "b": rng.normal(-0.3, 0.8, n), "c": 0.2}),
                              model="3pl", D=1.0, calibration_label=label)


def _checks(form) -> pd.DataFrame:
    return form_verification(form)


DEFAULT = Path(__file__).resolve().parents[2] / "blueprints" / "default" / "peer_support.toml"


@pytest.fixture(scope="module")
def years(tmp_path_factory):
    folder = tmp_path_factory.mktemp("years")
    path = folder / "bank.db"
    create_sample_bank(path, user="tester")
    # The shipped blueprint with the program's planned 10 pretest slots (120 scored + 10 pretest).
    text = DEFAULT.read_text(encoding="utf-8")
    blueprint = folder / "peer_support.toml"
    blueprint.write_text(re.sub(r"(?m)^pretest_slots = \d+", "pretest_slots = 10", text), encoding="utf-8")
    assert load_blueprint(blueprint).exam.pretest_slots == 10
    rng = np.random.default_rng(2026)
    out = {}
    with Bank.open(path, user="tester") as bank:
        out["year1"] = assemble_into_bank(bank, blueprint, n_forms=2, seed=1, name="PSS 2026")
        a_id, b_id = out["year1"].form_ids
        out["A"], out["B"] = bank.get_form(a_id), bank.get_form(b_id)
        _publish_and_analyse(bank, a_id, rng, "2026")
        out["year2"] = assemble_into_bank(bank, blueprint, n_forms=1, seed=2, name="PSS 2027")
        out["C"] = bank.get_form(out["year2"].form_ids[0])
        _publish_and_analyse(bank, out["C"].form_id, rng, "2027")
        out["year3"] = assemble_into_bank(bank, blueprint, n_forms=1, seed=3, name="PSS 2028")
        out["D"] = bank.get_form(out["year3"].form_ids[0])
        out["recent"] = recent_published_form_items(bank)
        out["pool"] = bank.item_pool()
    return out


def test_year_one_gives_two_parallel_forms_with_a_common_block(years):
    a, b = years["A"], years["B"]
    assert years["year1"].result.ok
    assert len(a.items) == 130 and sum(fi.is_pretest for fi in a.items) == 10
    shared = set(a.scored_item_ids) & set(b.scored_item_ids)
    assert 24 <= len(shared) <= 30  # the common block, within the overlap cap between new forms
    pos_a = {fi.item_id: fi.position for fi in a.items}
    pos_b = {fi.item_id: fi.position for fi in b.items}
    assert all(pos_a[i] == pos_b[i] for i in shared)  # same positions on both forms
    block = a.details["common_block"]["items"]
    assert len(block) == 24 and set(block) <= shared
    areas = years["pool"].set_index("item_id").loc[block, "area"].value_counts()
    assert areas["SAMHSA.I"] in (2, 3) and areas["SAMHSA.III"] in (1, 2)  # ±1 of count × 24/120
    checks = _checks(a)
    assert set(checks["kind"]) >= {"common_anchor", "common_positions"} and checks["passed"].all()


def test_year_two_is_a_new_form_anchored_to_form_a(years):
    a, c = years["A"], years["C"]
    assert years["year2"].result.ok
    shared = set(a.item_ids) & set(c.item_ids)
    assert 24 <= len(shared) <= 30  # an anchor block, and otherwise new items
    pool = years["pool"].set_index("item_id")
    anchors = c.details["anchor"]["items"]
    assert c.details["anchor"]["reference_form"] == a.form_id and len(anchors) == 24
    assert pool.loc[anchors, ["a", "b", "p_value", "point_biserial"]].notna().all().all()
    pos_a = {fi.item_id: fi.position for fi in a.items}
    assert all(fi.position == pos_a[fi.item_id] for fi in c.items if fi.item_id in shared and not fi.is_pretest)
    pre_a = {fi.item_id for fi in a.items if fi.is_pretest}
    pre_c = {fi.item_id for fi in c.items if fi.is_pretest}
    assert len(pre_c) == 10 and not pre_a & pre_c  # pretested items with statistics wait for promotion
    checks = _checks(c)
    kinds = set(checks["kind"])
    assert {"anchor", "anchor_positions", "recent_overlap", "exposure", "mean"} <= kinds
    assert checks.loc[checks["hard"], "passed"].all()
    mean = checks[checks["kind"] == "mean"].iloc[0]
    assert "scored items with a p_value" in mean["message"]  # computed over the items with statistics
    assert any("without_statistics" in note for note in c.details["notes"])


def test_year_three_repeats_no_form_and_meets_overlap_and_anchor_rules(years):
    a, c, d = years["A"], years["C"], years["D"]
    assert years["year3"].result.ok
    forms = [set(f.item_ids) for f in (a, years["B"], c, d)]
    assert len({frozenset(f) for f in forms}) == 4
    assert len(set(d.item_ids) & set(c.item_ids)) <= 30 and len(set(d.item_ids) & set(a.item_ids)) <= 30
    assert d.details["anchor"]["reference_form"] == c.form_id
    assert len(d.details["anchor"]["items"]) == 24
    checks = _checks(d)
    recent = checks[checks["kind"] == "recent_overlap"]
    assert len(recent) == 2 and recent["passed"].all()  # both of the two latest published forms
    assert checks.loc[checks["hard"], "passed"].all()
    assert [f.name for f in years["recent"]] == [c.form_id, a.form_id]
    assert years["pool"]["exposure_count"].max() <= 2
