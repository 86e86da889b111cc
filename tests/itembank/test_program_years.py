"""A program run year after year: administrations, dated statistics, parameter sets, item history, promotion,
and the V1 → V2 upgrade of an existing bank file."""
from __future__ import annotations

import json
import sqlite3

import pandas as pd
import pytest

from certbank_core.errors import CertbankError, InputError, NotFoundError, TransitionError
from itembank import schema
from itembank.model import Form, FormItem, ItemStatus
from itembank.store import Bank

from .conftest import digest

SHA_A = "a" * 64
SHA_B = "b" * 64


def _counts(bank) -> dict[str, int]:
    tables = ("administrations", "parameter_sets", "item_parameters", "item_statistics", "audit_log",
              "status_history")
    return {t: bank._q(f"SELECT COUNT(*) FROM {t}")[0][0] for t in tables}


def _params(b1: float, b2: float | None = None, a: float = 1.0) -> pd.DataFrame:
    ids = ["T-0001"] + (["T-0002"] if b2 is not None else [])
    return pd.DataFrame({"item_id": ids, "a": [a] * len(ids), "b": [b1] + ([b2] if b2 is not None else [])})


@pytest.fixture
def fbank(bank):
    """The two-item bank with form F1 holding both items."""
    bank.save_form(Form("F1", "Form one", (FormItem(1, "T-0001", 1), FormItem(2, "T-0002", 1))))
    return bank


# ---- V1 → V2 ------------------------------------------------------------------------------------------------

def test_a_v1_bank_with_statistics_and_parameters_upgrades_in_place(tmp_path, framework_file, monkeypatch):
    from itembank.importing import import_frameworks, import_items

    from .conftest import item_row, write_rows

    path = tmp_path / "v1.db"
    # A real V1 file: the bank code with only the first migration, then rows as V1 wrote them.
    monkeypatch.setattr(schema, "MIGRATIONS", schema.MIGRATIONS[:1])
    monkeypatch.setattr(schema, "SCHEMA_VERSION", 1)
    with Bank.create(path, user="v1") as b:
        import_frameworks(b, framework_file)
        import_items(b, write_rows(tmp_path / "seed.json", [item_row("T-0001"), item_row("T-0002", key="A")]))
        with b.transaction():
            for label, at, grp, p in [("pilot", "2025-01-01T00:00:00", "all", 0.7),
                                      ("pilot", "2025-01-01T00:00:01", "language=es", 0.6),
                                      ("year 2", "2026-01-01T00:00:00", "all", 0.75)]:
                b._x("INSERT INTO item_statistics(item_id, version, analysis_label, grp, computed_at, n, p_value, "
                     "point_biserial) VALUES ('T-0001', 1, ?, ?, ?, 100, ?, 0.3)", (label, grp, at, p))
            for label, at, item, bval in [("cal-1", "2025-02-01T00:00:00", "T-0001", -1.0),
                                          ("cal-1", "2025-02-01T00:00:00", "T-0002", 0.5),
                                          ("cal-2", "2026-02-01T00:00:00", "T-0001", -0.8)]:
                b._x("INSERT INTO item_parameters(item_id, version, model, a, b, c, D, calibration_label, "
                     "computed_at) VALUES (?, 1, '2pl', 1.1, ?, NULL, 1.0, ?, ?)", (item, bval, label, at))
        assert b.schema_version == 1
    monkeypatch.undo()

    with Bank.open(path, user="v2") as bank:
        assert bank.schema_version == schema.SCHEMA_VERSION == 2
        adms = bank.list_administrations()
        assert adms.administration_id.tolist() == ["legacy-1", "legacy-2"]
        assert adms.form_id.isna().all() and "'pilot'" in adms.notes[0]
        hist = bank.statistics_history("T-0001")
        assert hist.administration_id.tolist() == ["legacy-1", "legacy-1", "legacy-2"]
        sets = bank.parameter_sets()
        assert sets.label.tolist() == ["cal-1", "cal-2"] and sets.n_items.tolist() == [2, 1]
        assert (sets.method == "legacy").all() and (sets.scale == "bank").all() and sets.accepted.all()
        assert sets.starts_scale.tolist() == [True, False] and bank.scale_origin() == sets.parameter_set_id[0]
        params = bank.item_parameters().set_index("item_id")
        # What V1 read as current stays current: T-0001 from cal-2, T-0002 from cal-1.
        assert params.loc["T-0001", "b"] == -0.8 and params.loc["T-0002", "b"] == 0.5
        assert params.loc["T-0001", "parameter_set_id"] == sets.parameter_set_id[1]
        assert bank.bank_scale_defined()
        # The upgraded bank takes new records; a free calibration onto its scale is now refused.
        with pytest.raises(InputError, match="free calibration is on its own scale"):
            bank.save_parameter_set(_params(0.1), model="2pl", D=1.0, method="free", scale="bank")
    with Bank.open(path) as bank:  # nothing left to apply
        assert bank.schema_version == 2 and len(bank.parameter_sets()) == 2


# ---- administrations ----------------------------------------------------------------------------------------

def test_add_get_and_list_administrations(fbank):
    adm = fbank.add_administration("2026-spring", "F1", window_start="2026-03-01", window_end="2026-03-31",
                                   n_candidates=3000, language_counts={"en": 2000, "es": 1000},
                                   responses_sha256=SHA_A.upper(), notes=" first year ")
    assert adm.responses_sha256 == SHA_A and adm.notes == "first year" and adm.created_by == "tester"
    assert fbank.get_administration("2026-spring") == adm
    assert fbank.get_administration("2026-spring").language_counts == {"en": 2000, "es": 1000}
    generated = fbank.add_administration(None, "F1", window_start="2025-03-01")
    again = fbank.add_administration(None, "F1", window_start="2025-03-01")
    assert (generated.administration_id, again.administration_id) == ("F1-2025-03-01", "F1-2025-03-01-2")
    listing = fbank.list_administrations()
    assert listing.administration_id.tolist() == ["F1-2025-03-01", "F1-2025-03-01-2", "2026-spring"]
    assert json.loads(listing.language_counts[2]) == {"en": 2000, "es": 1000}
    assert fbank.administration_for_sha256(SHA_A) == "2026-spring"
    assert fbank.administration_for_sha256(SHA_B) is None
    assert [e.action for e in fbank.audit_log()].count("administration.add") == 3


def test_unknown_administration_is_one_sentence(fbank):
    with pytest.raises(NotFoundError) as err:
        fbank.get_administration("X")
    assert str(err.value) == ("There is no administration 'X' in the bank; `certbank administrations list` "
                              "shows them.")


@pytest.mark.parametrize("kwargs, message", [
    ({"window_start": "2026-13-01"}, "not a date"),
    ({"window_start": "2026-04-01", "window_end": "2026-03-01"}, "ends (2026-03-01) before it starts"),
    ({"n_candidates": -1}, "whole number"),
    ({"n_candidates": 10, "language_counts": {"en": 8, "es": 5}}, "add up to 13, more than the 10"),
    ({"language_counts": {"en": "many"}}, "language count"),
    ({"responses_sha256": "abc"}, "not a SHA-256"),
    ({"administration_id": "bad id"}, "must be letters"),
    ({"administration_id": "A1"}, "already an administration 'A1'"),
    ({"form_id": "NOPE"}, "no form 'NOPE'"),
])
def test_bad_administrations_are_refused_and_change_nothing(bank_path, kwargs, message):
    with Bank.open(bank_path, "u") as bank:
        bank.save_form(Form("F1", "Form one", (FormItem(1, "T-0001", 1),)))
        bank.add_administration("A1", "F1")
    before = digest(bank_path)
    args = {"administration_id": "A2", "form_id": "F1", **kwargs}
    with Bank.open(bank_path, "u") as bank:
        with pytest.raises(CertbankError, match=message.replace("(", r"\(").replace(")", r"\)")):
            bank.add_administration(args.pop("administration_id"), args.pop("form_id"), **args)
    assert digest(bank_path) == before


def test_the_same_response_file_cannot_be_two_administrations(fbank):
    fbank.add_administration("2026-A", "F1", responses_sha256=SHA_A)
    before = _counts(fbank)
    with pytest.raises(InputError) as err:
        fbank.add_administration("2026-B", "F1", responses_sha256=SHA_A)
    assert "already attached to administration '2026-A'" in str(err.value)
    assert _counts(fbank) == before


def test_ensure_administration_gets_or_creates(fbank):
    fbank.save_form(Form("F2", "Form two", (FormItem(1, "T-0001", 1),)))
    adm, created = fbank.ensure_administration("2026-A", "F1", SHA_A, window_start="2026-03-01")
    assert created and adm.window_start == "2026-03-01" and adm.responses_sha256 == SHA_A
    same, created = fbank.ensure_administration("2026-A", "F1", SHA_A)
    assert not created and same == adm
    assert fbank.ensure_administration("2026-A", "F1")[0] == adm  # no file given: any matches
    before = _counts(fbank)
    with pytest.raises(InputError, match="delivered form 'F1', not 'F2'"):
        fbank.ensure_administration("2026-A", "F2", SHA_A)
    with pytest.raises(InputError, match="another response file"):
        fbank.ensure_administration("2026-A", "F1", SHA_B)
    assert _counts(fbank) == before
    # An administration recorded without its file gets the file attached on first use (audited) …
    fbank.add_administration("2026-B", "F1")
    attached, created = fbank.ensure_administration("2026-B", "F1", SHA_B)
    assert not created and attached.responses_sha256 == SHA_B
    assert fbank.audit_log()[-1].action == "administration.attach"
    assert attached.n_candidates is None   # no counts given: none invented
    # … and the file's counts when it was recorded without them (`administrations add` before the data came)
    fbank.add_administration("2026-D", "F1", window_start="2026-09-01")
    sha_d = "d" * 64
    filled, _ = fbank.ensure_administration("2026-D", "F1", sha_d, n_candidates=30,
                                            language_counts={"en": 20, "es": 10}, window_start="2027-01-01")
    assert (filled.n_candidates, filled.language_counts, filled.window_start) == (30, {"en": 20, "es": 10},
                                                                                  "2026-09-01")
    assert fbank.audit_log()[-1].after["n_candidates"] == 30
    # … but not a file that is already another administration's.
    fbank.add_administration("2026-C", "F1")
    with pytest.raises(InputError, match="already attached to administration '2026-A'"):
        fbank.ensure_administration("2026-C", "F1", SHA_A)
    assert fbank.get_administration("2026-C").responses_sha256 is None


# ---- statistics ---------------------------------------------------------------------------------------------

def test_statistics_are_dated_by_administration_oldest_window_first(fbank):
    fbank.add_administration("Y2", "F1", window_start="2027-03-01")
    fbank.add_administration("Y1", "F1", window_start="2026-03-01")
    stats = pd.DataFrame({"item_id": ["T-0001", "T-0002"], "n": [300, 300], "p_value": [0.6, 0.5],
                          "point_biserial": [0.3, 0.2]})
    fbank.save_item_statistics(stats.assign(p_value=[0.65, 0.55]), "second year", administration_id="Y2")
    fbank.save_item_statistics(stats, "first year", administration_id="Y1")
    hist = fbank.statistics_history("T-0001")
    assert hist.administration_id.tolist() == ["Y1", "Y2"]  # by window, though Y2 was saved first
    assert hist.p_value.tolist() == [0.6, 0.65] and hist.window_start.tolist() == ["2026-03-01", "2027-03-01"]
    fbank.save_item_statistics(stats.iloc[:1], "unattached")  # still allowed: administration_id NULL
    hist = fbank.statistics_history("T-0001")
    assert hist.analysis_label.tolist().count("unattached") == 1
    assert pd.isna(hist.set_index("analysis_label").loc["unattached", "administration_id"])
    with pytest.raises(NotFoundError, match="no administration 'Y9'"):
        fbank.save_item_statistics(stats, "x", administration_id="Y9")


def test_statistics_of_an_administration_are_of_its_form(fbank):
    fbank.save_form(Form("F2", "Form two", (FormItem(1, "T-0001", 1),)))
    fbank.add_administration("A2", "F2")
    before = _counts(fbank)
    stats = pd.DataFrame({"item_id": ["T-0001", "T-0002"], "n": [10, 10], "p_value": [0.5, 0.5]})
    with pytest.raises(InputError, match="does not hold T-0002"):
        fbank.save_item_statistics(stats, "x", administration_id="A2")
    assert _counts(fbank) == before


# ---- parameter sets -----------------------------------------------------------------------------------------

def test_three_sets_the_newest_accepted_one_is_current_and_none_is_overwritten(fbank):
    fbank.add_administration("Y1", "F1", window_start="2026-03-01")
    first = fbank.save_parameter_set(_params(-1.0, 0.4), model="2pl", D=1.0, method="free", scale="bank",
                                     administration_id="Y1", label="year 1")
    assert fbank.scale_origin() == first and fbank.bank_scale_defined()
    assert fbank.audit_log()[-1].after["defined_scale"] is True
    second = fbank.save_parameter_set(_params(-0.9), model="2pl", D=1.0, method="fixed-anchor", scale="bank",
                                      anchors={"held": ["T-0002"], "released": []}, label="year 2")
    third = fbank.save_parameter_set(_params(-0.7), model="2pl", D=1.0, method="stocking-lord", scale="bank",
                                     linking={"A": 1.1, "B": -0.2}, accepted=False, label="year 3 (pending)")
    params = fbank.item_parameters().set_index("item_id")
    assert params.loc["T-0001", "b"] == -0.9 and params.loc["T-0001", "parameter_set_id"] == second
    assert params.loc["T-0001", "method"] == "fixed-anchor" and params.loc["T-0001", "calibration_label"] == "year 2"
    assert params.loc["T-0002", "b"] == 0.4 and params.loc["T-0002", "administration_id"] == "Y1"
    sets = fbank.parameter_sets()
    assert sets.parameter_set_id.tolist() == [first, second, third]
    assert sets.accepted.tolist() == [True, True, False] and sets.starts_scale.tolist() == [True, False, False]
    assert json.loads(sets.anchors[1]) == {"held": ["T-0002"], "released": []}
    assert fbank.parameter_set(third).linking == {"A": 1.1, "B": -0.2} and fbank.parameter_set(first).form_id == "F1"
    fbank.set_parameter_set_accepted(third, True, "linking reviewed")
    assert fbank.item_parameters(["T-0001"]).b.tolist() == [-0.7]
    assert fbank.item_pool().set_index("item_id").loc["T-0001", "b"] == -0.7
    fbank.set_parameter_set_accepted(third, False, "withdrawn")
    assert fbank.item_parameters(["T-0001"]).b.tolist() == [-0.9]
    with pytest.raises(sqlite3.IntegrityError, match="immutable"):
        with fbank.transaction():
            fbank._x("UPDATE item_parameters SET b = 0 WHERE parameter_set_id = ?", (first,))
    with pytest.raises(sqlite3.IntegrityError, match="immutable except its accepted flag"):
        with fbank.transaction():
            fbank._x("UPDATE parameter_sets SET scale = 'x' WHERE id = ?", (first,))
    with pytest.raises(sqlite3.IntegrityError, match="immutable"):
        with fbank.transaction():
            fbank._x("DELETE FROM parameter_sets WHERE id = ?", (first,))


def test_a_free_calibration_onto_the_bank_scale_is_refused_unless_it_starts_a_new_scale(fbank):
    first = fbank.save_parameter_set(_params(-1.0, 0.4), model="2pl", D=1.0, method="free", scale="bank")
    before = _counts(fbank)
    with pytest.raises(InputError) as err:
        fbank.save_parameter_set(_params(0.2), model="2pl", D=1.0, method="free", scale="bank")
    assert "A free calibration is on its own scale" in str(err.value) and "new_scale=True" in str(err.value)
    assert _counts(fbank) == before
    own = fbank.save_parameter_set(_params(0.2), model="2pl", D=1.0, method="free", scale="own:Y2")
    assert fbank.item_parameters(scale="own:Y2").b.tolist() == [0.2]
    assert fbank.item_parameters().b.tolist() == [-1.0, 0.4]  # the bank scale is untouched
    assert fbank.item_pool().set_index("item_id").loc["T-0001", "b"] == -1.0
    assert fbank.scale_origin("own:Y2") == own
    new = fbank.save_parameter_set(_params(0.3), model="2pl", D=1.0, method="free", scale="bank", new_scale=True)
    assert fbank.scale_origin() == new != first
    assert fbank.audit_log()[-1].after["new_scale"] is True
    # Parameters from before the new scale are on another scale: T-0002 has none on the current bank scale.
    assert fbank.item_parameters().item_id.tolist() == ["T-0001"]
    assert len(fbank.parameter_sets()) == 3


@pytest.mark.parametrize("frame, kwargs, message", [
    (_params(0.0), {"method": "guess"}, "method 'guess' is not one of"),
    (_params(0.0), {"scale": "two words"}, "scale 'two words'"),
    (_params(0.0), {"D": 0}, "D 0 must be a positive number"),
    (_params(0.0), {"method": "stocking-lord"}, "needs its linking constants"),
    (_params(0.0), {"method": "stocking-lord", "linking": {"A": -1, "B": 0}}, "linking"),
    (_params(0.0), {"anchors": {"bad": object()}}, "cannot be stored as JSON"),
    (pd.DataFrame({"item_id": ["T-0001"], "a": [1.0]}), {}, "T-0001: b is missing"),
    (pd.DataFrame({"item_id": ["T-0001", "T-0001"], "b": [0, 1]}), {}, "appears twice"),
    (pd.DataFrame({"item_id": ["Z-9"], "b": [0]}), {}, "'Z-9' is not in the bank"),
    (pd.DataFrame({"item_id": ["T-0001"], "version": [4], "b": [0]}), {}, "no version 4"),
    (pd.DataFrame({"item_id": ["T-0001"], "b": [0], "c": [1.5]}), {}, "outside"),
    (pd.DataFrame({"item_id": [], "b": []}), {}, "holds no items"),
    (_params(0.0), {"administration_id": "nope"}, "no administration 'nope'"),
])
def test_bad_parameter_sets_are_refused_and_change_nothing(fbank, frame, kwargs, message):
    before = _counts(fbank)
    args = {"model": "2pl", "D": 1.0, "method": "free", "scale": "bank", **kwargs}
    with pytest.raises(CertbankError, match=message):
        fbank.save_parameter_set(frame, **args)
    assert _counts(fbank) == before


def test_save_item_parameters_keeps_its_old_meaning(fbank):
    assert fbank.save_item_parameters(_params(-1.0, 0.4), "3pl", 1.702, "cal-1") == 2
    assert fbank.save_item_parameters(_params(-0.5), "3pl", 1.702, "cal-2") == 1  # not refused: method unknown
    params = fbank.item_parameters().set_index("item_id")
    assert params.loc["T-0001", "calibration_label"] == "cal-2" and params.loc["T-0002", "b"] == 0.4
    sets = fbank.parameter_sets()
    assert sets.method.tolist() == ["unspecified"] * 2 and sets.scale.tolist() == ["bank"] * 2


def test_parameters_of_an_older_version_are_not_current(fbank):
    from dataclasses import replace

    from itembank.model import ItemDraft

    fbank.save_parameter_set(_params(-1.0, 0.4), model="2pl", D=1.0, method="free", scale="bank")
    cur = fbank.get_item("T-0001").current
    fbank.save_items([ItemDraft(replace(cur, key="A"), ItemStatus.DRAFT)])
    assert fbank.item_parameters().item_id.tolist() == ["T-0002"]
    assert len(fbank.parameter_sets()) == 1


# ---- item history and export --------------------------------------------------------------------------------

def test_item_statistics_history_joins_each_administrations_parameters(fbank):
    fbank.add_administration("Y1", "F1", window_start="2026-03-01")
    fbank.add_administration("Y2", "F1", window_start="2027-03-01")
    for adm, p in (("Y2", 0.7), ("Y1", 0.6)):
        for group in ("all", "language=es"):
            frame = pd.DataFrame({"item_id": ["T-0001"], "n": [100], "p_value": [p], "point_biserial": [0.31],
                                  "point_biserial_total": [0.4]})
            fbank.save_item_statistics(frame, f"{adm} file", group=group, administration_id=adm)
    fbank.save_parameter_set(_params(-1.0, 0.4), model="2pl", D=1.0, method="free", scale="bank",
                             administration_id="Y1")
    fbank.save_parameter_set(_params(-0.6), model="2pl", D=1.0, method="free", scale="own:Y2",
                             administration_id="Y2")
    linked = fbank.save_parameter_set(_params(-0.8), model="2pl", D=1.0, method="stocking-lord", scale="bank",
                                      administration_id="Y2", linking={"A": 1.0, "B": -0.2})
    hist = fbank.item_statistics_history("T-0001")
    assert hist[["administration_id", "group"]].values.tolist() == [
        ["Y1", "all"], ["Y1", "language=es"], ["Y2", "all"], ["Y2", "language=es"]]
    assert hist.p_value.tolist() == [0.6, 0.6, 0.7, 0.7] and (hist.point_biserial_corrected == 0.31).all()
    assert (hist.point_biserial_total == 0.4).all()
    assert hist.b.tolist() == [-1.0, -1.0, -0.8, -0.8]  # Y2: the bank-scale (linked) set over its own scale
    assert hist.parameter_set_id.tolist()[2] == linked and hist.scale.tolist()[2] == "bank"
    t2 = fbank.item_statistics_history("T-0002")  # parameters but no statistics: one row, group ''
    assert t2[["administration_id", "group", "b"]].values.tolist() == [["Y1", "", 0.4]]
    assert pd.isna(t2.p_value[0])
    with pytest.raises(NotFoundError):
        fbank.item_statistics_history("Z-9")


def test_corrected_point_biserial_from_extra_wins(fbank):
    frame = pd.DataFrame({"item_id": ["T-0001"], "n": [50], "p_value": [0.5], "point_biserial": [0.4],
                          "rpbis_rest": [0.25]})
    fbank.save_item_statistics(frame, "x")
    assert fbank.item_statistics_history("T-0001").point_biserial_corrected.tolist() == [0.25]


def test_xlsx_export_has_a_statistics_sheet_and_csv_is_unchanged(fbank, tmp_path):
    import openpyxl

    from itembank.exporting import export_items

    fbank.add_administration("Y1", "F1", window_start="2026-03-01")
    stats = pd.DataFrame({"item_id": ["T-0001", "T-0002"], "n": [100, 100], "p_value": [0.6, 0.5],
                          "point_biserial": [0.3, 0.2]})
    fbank.save_item_statistics(stats, "y1", administration_id="Y1")
    fbank.save_item_statistics(stats.iloc[:1], "y1 es", group="language=es", administration_id="Y1")
    fbank.save_parameter_set(_params(-1.0), model="2pl", D=1.0, method="free", scale="bank",
                             administration_id="Y1")
    assert export_items(fbank, tmp_path / "bank.xlsx") == 2
    wb = openpyxl.load_workbook(tmp_path / "bank.xlsx")
    assert wb.sheetnames == ["items", "statistics"]
    rows = list(wb["statistics"].iter_rows(values_only=True))
    header = list(rows[0])
    got = [dict(zip(header, r)) for r in rows[1:]]
    assert [(r["item_id"], r["administration_id"], r["group"]) for r in got] == [
        ("T-0001", "Y1", "all"), ("T-0001", "Y1", "language=es"), ("T-0002", "Y1", "all")]
    assert got[0]["n"] == 100 and got[0]["p_value"] == 0.6 and got[0]["b"] == -1.0 and got[2]["b"] is None
    export_items(fbank, tmp_path / "bank.csv")
    assert "administration_id" not in (tmp_path / "bank.csv").read_text(encoding="utf-8-sig").splitlines()[0]
    export_items(fbank, tmp_path / "one.xlsx", ["T-0002"])
    rows = list(openpyxl.load_workbook(tmp_path / "one.xlsx")["statistics"].iter_rows(values_only=True))
    assert [r[0] for r in rows[1:]] == ["T-0002"]


# ---- promotion ----------------------------------------------------------------------------------------------

def _to_pretest(bank, item_id):
    for status in ("review", "approved", "pretest"):
        bank.set_status(item_id, status, "ready")


def test_promote_items_moves_pretest_to_operational_with_the_reason(fbank):
    _to_pretest(fbank, "T-0001")
    _to_pretest(fbank, "T-0002")
    changes = fbank.promote_items(["T-0001", "T-0002"], "Y1 pretest statistics meet the criteria")
    assert [c.to_status for c in changes] == [ItemStatus.OPERATIONAL] * 2
    for item_id in ("T-0001", "T-0002"):
        assert fbank.get_item(item_id).status is ItemStatus.OPERATIONAL
        assert fbank.status_history(item_id)[-1].reason == "Y1 pretest statistics meet the criteria"
        assert fbank.audit_log(item_id)[-1].after == {"status": "operational",
                                                     "reason": "Y1 pretest statistics meet the criteria"}


def test_promotion_is_all_or_nothing(bank_path):
    with Bank.open(bank_path, "u") as bank:
        _to_pretest(bank, "T-0001")
    before = digest(bank_path)
    with Bank.open(bank_path, "u") as bank:
        with pytest.raises(TransitionError) as err:
            bank.promote_items(["T-0001", "T-0002"], "year 1")
        assert str(err.value) == ("Only pretest items can be promoted to operational, and T-0002 is draft; "
                                  "nothing was promoted.")
        with pytest.raises(NotFoundError, match="'Z-9'"):
            bank.promote_items(["T-0001", "Z-9"], "year 1")
        with pytest.raises(InputError, match="needs a reason"):
            bank.promote_items(["T-0001"], " ")
        assert bank.get_item("T-0001").status is ItemStatus.PRETEST
    assert digest(bank_path) == before
