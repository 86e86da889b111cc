"""The Bank: opening, schema, lifecycle, versions, enemies, audit, forms, statistics, concurrency."""
from __future__ import annotations

import math
import sqlite3
import sys
from dataclasses import replace

import pandas as pd
import pytest

from itembank import schema
from certbank_core.errors import BankError, InputError, NotFoundError, TransitionError
from itembank.model import (
    ITEM_TRANSITIONS, Form, FormItem, FormStatus, ItemDraft, ItemStatus, ItemText, ItemVersion,
)
from itembank.store import Bank

from .conftest import digest


def _draft(item_id="N-1", stem="Stem?", key="A", status=ItemStatus.DRAFT, **kw) -> ItemDraft:
    v = ItemVersion(item_id=item_id, version=0, key=key, primary_competency="TST.I.1",
                    texts=(ItemText("en", stem, ("yes", "no")),), **kw)
    return ItemDraft(v, status)


# ---- opening ------------------------------------------------------------------------------------------------

def test_new_bank_has_schema_wal_and_foreign_keys(tmp_path):
    path = tmp_path / "b.db"
    with Bank.create(path, "u") as bank:
        assert bank.schema_version == schema.SCHEMA_VERSION
        assert bank._q("PRAGMA journal_mode")[0][0] == "wal"
        assert bank._q("PRAGMA foreign_keys")[0][0] == 1
        assert bank._q("PRAGMA busy_timeout")[0][0] > 0


def test_in_memory_bank(framework_file):
    from itembank.importing import import_frameworks

    with Bank.open(":memory:", "mem") as bank:
        import_frameworks(bank, framework_file)
        bank.save_items([_draft()])
        assert bank.get_item("N-1").current.text("en").options == ("yes", "no")


def test_open_missing_bank_is_a_bank_error(tmp_path):
    with pytest.raises(BankError, match="no bank at"):
        Bank.open(tmp_path / "missing.db")
    assert not (tmp_path / "missing.db").exists()


def test_create_refuses_existing_file(bank_path):
    before = digest(bank_path)
    with pytest.raises(BankError, match="already exists"):
        Bank.create(bank_path)
    assert digest(bank_path) == before


def test_not_a_bank(tmp_path):
    junk = tmp_path / "junk.db"
    junk.write_bytes(b"this is not sqlite at all" * 100)
    with pytest.raises(BankError, match="not a certbank bank"):
        Bank.open(junk)
    other = tmp_path / "other.db"
    conn = sqlite3.connect(other)
    conn.execute("CREATE TABLE x (y)")
    conn.commit()
    conn.close()
    with pytest.raises(BankError, match="not a certbank bank"):
        Bank.open(other)


def test_newer_schema_is_refused(bank_path):
    conn = sqlite3.connect(bank_path)
    conn.execute(f"PRAGMA user_version = {schema.SCHEMA_VERSION + 1}")
    conn.commit()
    conn.close()
    with pytest.raises(BankError, match="newer certbank"):
        Bank.open(bank_path)


def test_opening_an_older_bank_applies_the_missing_migrations_in_order(bank_path, monkeypatch):
    extra = "CREATE TABLE notes (item_id TEXT REFERENCES items(item_id), note TEXT NOT NULL);"
    monkeypatch.setattr(schema, "MIGRATIONS", (*schema.MIGRATIONS, extra))
    monkeypatch.setattr(schema, "SCHEMA_VERSION", len(schema.MIGRATIONS))
    with Bank.open(bank_path) as bank:
        assert bank.schema_version == schema.SCHEMA_VERSION
        assert bank._q("SELECT COUNT(*) FROM notes")[0][0] == 0
        assert bank.item_ids() == {"T-0001", "T-0002"}  # data kept
    with Bank.open(bank_path) as bank:  # nothing left to apply the second time
        assert bank.schema_version == schema.SCHEMA_VERSION


def test_reopening_does_not_change_the_file(bank_path):
    before = digest(bank_path)
    with Bank.open(bank_path) as bank:
        bank.item_pool()
    assert digest(bank_path) == before


def test_bank_imports_no_scipy():
    import subprocess

    code = "import itembank.store, itembank.importing, itembank.exporting, itembank.listing, sys; " \
           "print('scipy' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


# ---- lifecycle ----------------------------------------------------------------------------------------------

@pytest.mark.parametrize("old", list(ItemStatus))
@pytest.mark.parametrize("new", list(ItemStatus))
def test_every_transition_follows_the_lifecycle(tmp_path, framework_file, old, new):
    from itembank.importing import import_frameworks

    with Bank.create(tmp_path / "b.db", "lee") as bank:
        import_frameworks(bank, framework_file)
        bank.save_items([_draft(status=old)])
        if new in ITEM_TRANSITIONS[old]:
            change = bank.set_status("N-1", new, "because")
            assert (change.from_status, change.to_status, change.user) == (old, new, "lee")
            assert bank.get_item("N-1").status is new
            last = bank.status_history("N-1")[-1]
            assert (last.from_status, last.to_status, last.reason, last.user) == (old, new, "because", "lee")
        else:
            n_audit = len(bank.audit_log())
            with pytest.raises(TransitionError, match=f"from {old.value} to {new.value}"):
                bank.set_status("N-1", new, "because")
            assert bank.get_item("N-1").status is old
            assert len(bank.audit_log()) == n_audit


def test_the_whole_lifecycle_in_order(bank):
    path = ["review", "draft", "review", "approved", "pretest", "operational", "retired"]
    for status in path:
        bank.set_status("T-0001", status, f"to {status}")
    history = bank.status_history("T-0001")
    assert [h.to_status.value for h in history] == ["draft", *path]
    assert history[0].from_status is None


def test_status_change_needs_a_reason_and_a_known_status(bank):
    with pytest.raises(InputError, match="reason"):
        bank.set_status("T-0001", "review", "  ")
    with pytest.raises(InputError, match="Unknown item status"):
        bank.set_status("T-0001", "published", "x")
    with pytest.raises(NotFoundError):
        bank.set_status("NOPE", "review", "x")


# ---- versions -----------------------------------------------------------------------------------------------

def test_changed_content_makes_a_new_version_and_old_ones_stay(bank):
    item = bank.get_item("T-0001")
    assert item.version == 1
    texts = (replace(item.current.texts[0], stem="A new stem?"), *item.current.texts[1:])
    result = bank.save_items([ItemDraft(replace(item.current, texts=texts), item.status, item.enemies)])
    assert result["new_version"] == ["T-0001"]
    versions = bank.item_versions("T-0001")
    assert [v.version for v in versions] == [1, 2]
    assert versions[0].text("en").stem == item.current.text("en").stem
    assert versions[1].text("en").stem == "A new stem?"
    assert bank.get_item("T-0001").version == 2
    # Saving the same content again is not a new version.
    again = bank.save_items([ItemDraft(replace(item.current, texts=texts), item.status)])
    assert again["unchanged"] == ["T-0001"]
    assert len(bank.item_versions("T-0001")) == 2


@pytest.mark.parametrize("change", [
    {"key": "C"}, {"keywords": ("other",)}, {"secondary_competencies": ("TST.II.1",)}, {"source": "p. 9"},
])
def test_any_content_change_is_a_new_version(bank, change):
    cur = bank.get_item("T-0001").current
    bank.save_items([ItemDraft(replace(cur, **change), ItemStatus.DRAFT)])
    assert bank.get_item("T-0001").version == 2


def test_versions_are_immutable_in_sql(bank):
    with pytest.raises(sqlite3.IntegrityError, match="immutable"):
        with bank.transaction():
            bank._x("UPDATE item_versions SET key = 'C' WHERE item_id = 'T-0001'")
    assert bank.get_item("T-0001").current.key == "B"


# ---- enemies and audit --------------------------------------------------------------------------------------

def test_enemies_are_symmetric(bank):
    assert bank.add_enemy("T-0002", "T-0001") is True
    assert bank.add_enemy("T-0001", "T-0002") is False
    assert bank.enemy_pairs() == [("T-0001", "T-0002")]
    assert bank.get_item("T-0001").enemies == ("T-0002",)
    assert bank.get_item("T-0002").enemies == ("T-0001",)
    with pytest.raises(InputError):
        bank.add_enemy("T-0001", "T-0001")
    with pytest.raises(NotFoundError):
        bank.add_enemy("T-0001", "ZZZ")
    assert bank.remove_enemy("T-0001", "T-0002") is True
    assert bank.enemy_pairs() == []
    for item in ("T-0001", "T-0002"):
        assert [e.action for e in bank.audit_log(item)][-2:] == ["enemy.add", "enemy.remove"]


def test_audit_log_records_user_action_before_after_and_is_append_only(bank):
    bank.set_status("T-0001", "review", "ready for review")
    entries = bank.audit_log("T-0001")
    assert [e.action for e in entries] == ["item.create", "item.status"]
    last = entries[-1]
    assert last.user == "tester" and last.before == {"status": "draft"}
    assert last.after == {"status": "review", "reason": "ready for review"}
    assert entries[0].after["texts"][0]["stem"].startswith("What does")
    for sql in ("UPDATE audit_log SET user = 'x'", "DELETE FROM audit_log"):
        with pytest.raises(sqlite3.IntegrityError, match="append-only"):
            with bank.transaction():
                bank._x(sql)
    assert len(bank.audit_log("T-0001")) == 2


def test_failed_write_rolls_back_everything(bank):
    n_audit = len(bank.audit_log())
    good = _draft("N-1")
    bad = _draft("N-2", status=ItemStatus.DRAFT)
    bad = replace(bad, version=replace(bad.version, primary_competency="NOPE.1"))
    with pytest.raises(InputError, match="unknown competency"):
        bank.save_items([good, bad])
    assert "N-1" not in bank.item_ids()
    assert len(bank.audit_log()) == n_audit


# ---- two connections ----------------------------------------------------------------------------------------

def test_two_connections_share_a_bank(bank_path):
    with Bank.open(bank_path, "one") as a, Bank.open(bank_path, "two") as b:
        a.set_status("T-0001", "review", "by one")
        assert b.get_item("T-0001").status is ItemStatus.REVIEW
        with a.transaction():
            a.set_status("T-0002", "review", "by one")
            # b reads the last committed state while a's transaction is open (WAL).
            assert b.get_item("T-0002").status is ItemStatus.DRAFT
        assert b.get_item("T-0002").status is ItemStatus.REVIEW
        b.set_status("T-0002", "approved", "by two")
        assert a.get_item("T-0002").status is ItemStatus.APPROVED
        assert [e.user for e in a.audit_log("T-0002")][-2:] == ["one", "two"]


def test_a_writer_waits_for_another_writer_instead_of_failing(bank_path):
    import threading
    import time

    errors = []

    def second_writer():
        try:
            with Bank.open(bank_path, "two") as b:
                b.set_status("T-0002", "review", "waited")
        except Exception as err:  # pragma: no cover - reported below
            errors.append(err)

    with Bank.open(bank_path, "one") as a:
        with a.transaction():
            a.set_status("T-0001", "review", "holding the lock")
            thread = threading.Thread(target=second_writer)
            thread.start()
            time.sleep(0.3)  # the second writer is now blocked on the busy timeout
            assert thread.is_alive()
        thread.join(timeout=10)
        assert not errors
        assert a.get_item("T-0002").status is ItemStatus.REVIEW


def test_busy_bank_gives_a_bank_error(bank_path):
    import itembank.store as store

    with Bank.open(bank_path, "one") as a, a.transaction():
        a.set_status("T-0001", "review", "holding the lock")
        with Bank.open(bank_path, "two") as b:
            b._conn.execute("PRAGMA busy_timeout = 50")
            with pytest.raises(BankError, match="busy"):
                b.set_status("T-0002", "review", "cannot wait")
    assert store.BUSY_TIMEOUT_MS >= 1000


# ---- forms, statistics, parameters, standards, blueprints ---------------------------------------------------

def test_form_lifecycle_publish_counts_exposure_and_freezes(bank):
    form = Form("F-1", "Form one", (FormItem(1, "T-0002", 1), FormItem(2, "T-0001", 1, True)), "bp", "h")
    assert bank.save_form(form) == "F-1"
    got = bank.get_form("F-1")
    assert got.item_ids == ("T-0002", "T-0001") and got.scored_item_ids == ("T-0002",)
    assert bank.form_key("F-1") == {"T-0002": "A", "T-0001": "B"}
    assert bank.form_options("F-1") == {"T-0002": ("A", "B", "C"), "T-0001": ("A", "B", "C")}
    with pytest.raises(TransitionError):
        bank.set_form_status("F-1", "published")
    bank.set_form_status("F-1", FormStatus.APPROVED)
    bank.set_form_status("F-1", "published")
    pool = bank.item_pool().set_index("item_id")
    assert pool.loc["T-0001", "exposure_count"] == 1 and pool.loc["T-0001", "last_used_form"] == "F-1"
    with pytest.raises(TransitionError, match="frozen"):
        bank.save_form(replace(form, items=form.items[:1]))
    with pytest.raises(sqlite3.IntegrityError, match="frozen"):
        with bank.transaction():
            bank._x("DELETE FROM form_items WHERE form_id = 'F-1'")
    assert bank.list_forms().loc[0, "n_items"] == 2


def test_form_with_unknown_item_version_is_refused(bank):
    with pytest.raises(InputError, match="version 7"):
        bank.save_form(Form("F-2", "x", (FormItem(1, "T-0001", 7),)))


def test_statistics_and_parameters_attach_to_the_current_version(bank):
    stats = pd.DataFrame({"item_id": ["T-0001", "T-0002"], "n": [200, 200], "p_value": [0.8, 0.45],
                          "point_biserial": [0.31, float("nan")], "alpha_if_deleted": [0.7, 0.71]})
    bank.save_item_statistics(stats, "pilot 2026")
    hist = bank.statistics_history("T-0001")
    assert hist.loc[0, "p_value"] == 0.8 and hist.loc[0, "alpha_if_deleted"] == 0.7
    assert hist.loc[0, "version"] == 1 and hist.loc[0, "group"] == "all"
    bank.save_item_parameters(pd.DataFrame({"item_id": ["T-0001"], "a": [1.2], "b": [-0.5], "c": [0.2]}),
                              "3PL", 1.702, "cal-1")
    params = bank.item_parameters()
    assert list(params["item_id"]) == ["T-0001"] and params.loc[0, "D"] == 1.702
    pool = bank.item_pool().set_index("item_id")
    assert pool.loc["T-0001", "p_value"] == 0.8 and pool.loc["T-0001", "a"] == 1.2
    assert math.isnan(pool.loc["T-0002", "point_biserial"]) and math.isnan(pool.loc["T-0002", "a"])
    # A new version starts without statistics in the pool; history keeps the old rows.
    cur = bank.get_item("T-0001").current
    bank.save_items([ItemDraft(replace(cur, key="A"), ItemStatus.DRAFT)])
    pool = bank.item_pool().set_index("item_id")
    assert math.isnan(pool.loc["T-0001", "p_value"]) and pool.loc["T-0001", "version"] == 2
    assert len(bank.statistics_history("T-0001")) == 1


def test_item_pool_columns_and_status_filter(bank):
    bank.set_status("T-0001", "review", "r")
    pool = bank.item_pool()
    for col in ("item_id", "version", "status", "primary_competency", "area", "cognitive_level", "key",
                "n_options", "languages", "es_status", "exposure_count", "last_used_form", "p_value",
                "point_biserial", "a", "b", "c", "D"):
        assert col in pool.columns
    row = pool.set_index("item_id").loc["T-0002"]
    assert (row["area"], row["languages"], row["es_status"], row["n_options"]) == ("TST.I", "en;es", "translated", 3)
    assert list(bank.item_pool(status="review")["item_id"]) == ["T-0001"]
    assert list(bank.item_pool(status=["draft", "review"])["item_id"]) == ["T-0001", "T-0002"]


def test_standards_blueprints_and_texts(bank):
    bank.save_standard("2026", -0.25, {"method": "Angoff"})
    assert bank.get_standard("2026")["theta_cut"] == -0.25
    assert bank.get_standard("2026")["details"] == {"method": "Angoff"}
    with pytest.raises(NotFoundError):
        bank.get_standard("nope")
    h = bank.save_blueprint("peer", "[blueprint]\nlength = 120\n")
    assert bank.get_blueprint("peer").endswith("120\n") and list(bank.list_blueprints()["hash"]) == [h]
    texts = bank.item_texts(["T-0002", "T-0001"])
    assert list(texts["item_id"]) == ["T-0002", "T-0001"]
    assert texts.loc[0, "option_b_es"] == "Escuchar" and texts.loc[0, "option_d_en"] == ""


def test_empty_bank_reads_give_empty_frames_with_columns():
    with Bank.open(":memory:", "u") as bank:
        assert list(bank.item_pool().columns)[:3] == ["item_id", "version", "status"]
        assert bank.item_pool().empty and bank.item_parameters().empty and bank.list_forms().empty
        assert "stem_es" in bank.item_texts([]).columns
        assert bank.enemy_pairs() == [] and bank.audit_log() == []


def test_save_items_checks_drafts_made_in_python(bank):
    twice = [_draft("N-1"), _draft("N-1", stem="Other?")]
    with pytest.raises(InputError, match="N-1 appears twice"):
        bank.save_items(twice)
    empty_option = _draft("N-2")
    v = empty_option.version
    empty_option = replace(empty_option, version=replace(v, texts=(replace(v.texts[0], options=("yes", " ")),)))
    with pytest.raises(InputError, match="an option is empty"):
        bank.save_items([empty_option])
    with pytest.raises(InputError, match="key 'C' is not among options"):
        bank.save_items([_draft("N-3", key="C")])
    assert not {"N-1", "N-2", "N-3"} & bank.item_ids()


def test_publishing_refuses_a_form_with_a_retired_item_or_an_enemy_pair(bank):
    # Review: a form approved before an item was retired, or before two of its items were made enemies,
    # used to publish silently and count exposures.
    bank.save_form(Form("F-1", "Form one", (FormItem(1, "T-0001", 1), FormItem(2, "T-0002", 1)), "bp", "h"))
    bank.set_form_status("F-1", "approved")
    bank.add_enemy("T-0001", "T-0002")
    for status in ("review", "approved", "pretest", "operational", "retired"):
        bank.set_status("T-0001", status, "test")
    log_before = len(bank.audit_log())
    with pytest.raises(TransitionError) as info:
        bank.set_form_status("F-1", "published")
    message = str(info.value)
    assert "Form F-1 cannot be published" in message
    assert "item T-0001 is retired" in message
    assert "items T-0001 and T-0002 are enemies" in message
    assert bank.get_form("F-1").status is FormStatus.APPROVED
    assert bank.item_pool().set_index("item_id").loc["T-0002", "exposure_count"] == 0
    assert len(bank.audit_log()) == log_before
    bank.remove_enemy("T-0001", "T-0002")
    with pytest.raises(TransitionError, match="retired"):
        bank.set_form_status("F-1", "published")
