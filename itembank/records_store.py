"""Bank methods for what attaches to items: forms, standards, blueprints, texts.

Statistics (``administrations_store``) and parameters (``parameters_store``) attach to an item *version*:
:meth:`RecordsMixin._version_for` gives the item's current version when a row names none. A published
form is frozen (triggers refuse changes to its items) and publishing it counts one exposure for each item.
"""
from __future__ import annotations

import hashlib
import json
import re
from dataclasses import replace
from typing import Iterable

import pandas as pd

from certbank_core.errors import InputError, NotFoundError, Problem, TransitionError
from itembank.model import FORM_TRANSITIONS, OPTION_LABELS, Form, FormItem, FormStatus, utc_now

_FORM_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]*$")


class RecordsMixin:
    # ---- forms ------------------------------------------------------------------------------------------

    def save_form(self, form: Form) -> str:
        """Store a new form, or replace the items of a form that is not yet published. Returns form_id."""

        if not _FORM_ID.match(form.form_id or ""):
            raise InputError(f"Form id {form.form_id!r} must be letters, digits, '.', '_' or '-'.")
        problems = []
        positions = [fi.position for fi in form.items]
        if len(set(positions)) != len(positions):
            problems.append(Problem(f"form {form.form_id}: positions repeat"))
        ids = [fi.item_id for fi in form.items]
        if len(set(ids)) != len(ids):
            problems.append(Problem(f"form {form.form_id}: an item appears twice"))
        known = {(r[0], r[1]) for r in self._q("SELECT item_id, version FROM item_versions")}
        for fi in form.items:
            if (fi.item_id, fi.version) not in known:
                problems.append(Problem(f"form {form.form_id}: item {fi.item_id} version {fi.version} "
                                        "is not in the bank"))
        if problems:
            raise InputError(problems)
        with self.transaction():
            old = self._q("SELECT status FROM forms WHERE form_id = ?", (form.form_id,))
            if old and old[0]["status"] == FormStatus.PUBLISHED.value:
                raise TransitionError(f"Form {form.form_id} is published and frozen; save a new form instead.")
            now = utc_now()
            if old:
                self._x("DELETE FROM form_items WHERE form_id = ?", (form.form_id,))
                self._x("UPDATE forms SET name = ?, blueprint_name = ?, blueprint_hash = ?, details = ? "
                        "WHERE form_id = ?", (form.name, form.blueprint_name, form.blueprint_hash,
                                              json.dumps(form.details, default=str), form.form_id))
            else:
                self._x("INSERT INTO forms(form_id, name, blueprint_name, blueprint_hash, status, details, "
                        "created_by, created_at) VALUES (?, ?, ?, ?, 'draft', ?, ?, ?)",
                        (form.form_id, form.name, form.blueprint_name, form.blueprint_hash,
                         json.dumps(form.details, default=str), form.created_by or self.user,
                         form.created_at or now))
            for fi in form.items:
                self._x("INSERT INTO form_items(form_id, position, item_id, version, is_pretest) "
                        "VALUES (?, ?, ?, ?, ?)", (form.form_id, fi.position, fi.item_id, fi.version,
                                                   int(bool(fi.is_pretest))))
            self._audit("form.save", None, None, {"form_id": form.form_id, "n_items": len(form.items)})
        return form.form_id

    def get_form(self, form_id: str) -> Form:
        head = self._q("SELECT * FROM forms WHERE form_id = ?", (form_id,))
        if not head:
            raise NotFoundError(f"There is no form {form_id!r} in the bank.")
        h = head[0]
        items = tuple(FormItem(r["position"], r["item_id"], r["version"], bool(r["is_pretest"]))
                      for r in self._q("SELECT * FROM form_items WHERE form_id = ? ORDER BY position", (form_id,)))
        return Form(form_id=h["form_id"], name=h["name"], items=items, blueprint_name=h["blueprint_name"],
                    blueprint_hash=h["blueprint_hash"], status=FormStatus(h["status"]),
                    created_by=h["created_by"], created_at=h["created_at"], details=json.loads(h["details"]))

    def list_forms(self) -> pd.DataFrame:
        """One row per form: form_id, name, status, blueprint_name, n_items, n_pretest, created_by, created_at."""
        rows = self._q(
            "SELECT f.form_id, f.name, f.status, f.blueprint_name, COUNT(fi.item_id) AS n_items, "
            "COALESCE(SUM(fi.is_pretest), 0) AS n_pretest, f.created_by, f.created_at, f.published_at "
            "FROM forms f LEFT JOIN form_items fi ON fi.form_id = f.form_id GROUP BY f.form_id ORDER BY f.form_id")
        cols = ["form_id", "name", "status", "blueprint_name", "n_items", "n_pretest", "created_by",
                "created_at", "published_at"]
        return pd.DataFrame([tuple(r) for r in rows], columns=cols)

    def set_form_status(self, form_id: str, status: FormStatus | str) -> None:
        """draft → approved → published (and approved → draft). Publishing counts one exposure per item."""

        try:
            new = FormStatus(status.value if isinstance(status, FormStatus) else str(status).lower())
        except ValueError:
            raise InputError(f"Unknown form status {status!r}; use draft, approved or published.") from None
        with self.transaction():
            old = self.get_form(form_id).status
            if new not in FORM_TRANSITIONS[old]:
                raise TransitionError(f"Form {form_id} cannot move from {old.value} to {new.value}.")
            if new is FormStatus.PUBLISHED:
                self._check_publishable(form_id)
            now = utc_now()
            self._x("UPDATE forms SET status = ?, published_at = CASE WHEN ? = 'published' THEN ? "
                    "ELSE published_at END WHERE form_id = ?", (new.value, new.value, now, form_id))
            if new is FormStatus.PUBLISHED:
                self._x("UPDATE items SET exposure_count = exposure_count + 1, last_used_form = ? "
                        "WHERE item_id IN (SELECT item_id FROM form_items WHERE form_id = ?)", (form_id, form_id))
            self._audit("form.status", None, {"form_id": form_id, "status": old.value},
                        {"form_id": form_id, "status": new.value})

    def _check_publishable(self, form_id: str) -> None:
        """The bank may have changed since the form was assembled: refuse to publish a form holding a retired
        item or an enemy pair (both recorded after assembly), naming each."""
        reasons = [f"item {r[0]} is retired" for r in self._q(
            "SELECT fi.item_id FROM form_items fi JOIN items i ON i.item_id = fi.item_id "
            "WHERE fi.form_id = ? AND i.status = 'retired' ORDER BY fi.position", (form_id,))]
        reasons += [f"items {r[0]} and {r[1]} are enemies" for r in self._q(
            "SELECT e.item_a, e.item_b FROM enemies e JOIN form_items a ON a.item_id = e.item_a "
            "JOIN form_items b ON b.item_id = e.item_b WHERE a.form_id = ? AND b.form_id = ? "
            "ORDER BY e.item_a, e.item_b", (form_id, form_id))]
        if reasons:
            raise TransitionError(f"Form {form_id} cannot be published: " + "; ".join(reasons)
                                  + ". Assemble a new form (or remove the enemy pair if it was recorded in error).")

    def form_key(self, form_id: str) -> dict[str, str]:
        """item_id → key letter for the versions on the form, in form order."""
        self.get_form(form_id)
        rows = self._q("SELECT fi.item_id, v.key FROM form_items fi JOIN item_versions v ON "
                       "v.item_id = fi.item_id AND v.version = fi.version WHERE fi.form_id = ? "
                       "ORDER BY fi.position", (form_id,))
        return {r[0]: r[1] for r in rows}

    def form_options(self, form_id: str) -> dict[str, tuple[str, ...]]:
        """item_id → the option labels (A, B, …) of the version on the form, in form order."""
        self.get_form(form_id)
        rows = self._q("SELECT fi.item_id, v.n_options FROM form_items fi JOIN item_versions v ON "
                       "v.item_id = fi.item_id AND v.version = fi.version WHERE fi.form_id = ? "
                       "ORDER BY fi.position", (form_id,))
        return {r[0]: OPTION_LABELS[: r[1]] for r in rows}

    # ---- statistics and parameters ----------------------------------------------------------------------

    def _version_for(self, row: dict) -> int:
        if "version" in row and row["version"] is not None and not pd.isna(row["version"]):
            return int(row["version"])
        cur = self._q("SELECT current_version FROM items WHERE item_id = ?", (row["item_id"],))
        if not cur:
            raise NotFoundError(f"There is no item {row['item_id']!r} in the bank.")
        return cur[0][0]

    # ---- standards and blueprints -----------------------------------------------------------------------

    def save_standard(self, name: str, theta_cut: float, details: dict) -> None:

        with self.transaction():
            old = self._q("SELECT theta_cut, details FROM standards WHERE name = ?", (name,))
            self._x("INSERT INTO standards(name, theta_cut, details, saved_at, saved_by) VALUES (?, ?, ?, ?, ?) "
                    "ON CONFLICT(name) DO UPDATE SET theta_cut = excluded.theta_cut, details = excluded.details, "
                    "saved_at = excluded.saved_at, saved_by = excluded.saved_by",
                    (name, float(theta_cut), json.dumps(details, default=str), utc_now(), self.user))
            before = {"name": name, "theta_cut": old[0][0]} if old else None
            self._audit("standard.save", None, before, {"name": name, "theta_cut": float(theta_cut)})

    def get_standard(self, name: str) -> dict:
        """{name, theta_cut, details, saved_at, saved_by}."""
        rows = self._q("SELECT * FROM standards WHERE name = ?", (name,))
        if not rows:
            raise NotFoundError(f"There is no standard {name!r} in the bank.")
        r = rows[0]
        return {"name": r["name"], "theta_cut": r["theta_cut"], "details": json.loads(r["details"]),
                "saved_at": r["saved_at"], "saved_by": r["saved_by"]}

    def save_blueprint(self, name: str, toml_text: str) -> str:
        """Store (or replace) a blueprint's TOML text; returns its SHA-256 hash."""

        digest = hashlib.sha256(toml_text.encode("utf-8")).hexdigest()
        with self.transaction():
            self._x("INSERT INTO blueprints(name, toml_text, hash, saved_at, saved_by) VALUES (?, ?, ?, ?, ?) "
                    "ON CONFLICT(name) DO UPDATE SET toml_text = excluded.toml_text, hash = excluded.hash, "
                    "saved_at = excluded.saved_at, saved_by = excluded.saved_by",
                    (name, toml_text, digest, utc_now(), self.user))
            self._audit("blueprint.save", None, None, {"name": name, "hash": digest})
        return digest

    def get_blueprint(self, name: str) -> str:
        rows = self._q("SELECT toml_text FROM blueprints WHERE name = ?", (name,))
        if not rows:
            raise NotFoundError(f"There is no blueprint {name!r} in the bank.")
        return rows[0][0]

    def list_blueprints(self) -> pd.DataFrame:
        rows = self._q("SELECT name, hash, saved_at, saved_by FROM blueprints ORDER BY name")
        return pd.DataFrame([tuple(r) for r in rows], columns=["name", "hash", "saved_at", "saved_by"])

    # ---- texts ------------------------------------------------------------------------------------------

    def item_texts(self, item_ids: Iterable[str] | None = None, languages=("en", "es"),
                   versions: dict[str, int] | None = None) -> pd.DataFrame:
        """Current-version text, one row per item: item_id, version, key, n_options, then per language
        stem_L, option_a_L … option_f_L ('' beyond n_options or when the language is absent), rationale_L.
        ``versions`` (item_id → version) asks for those versions instead, e.g. the versions on a form."""
        items = self.items(item_ids)
        if versions:
            items = [replace(it, current=self.get_version(it.item_id, versions[it.item_id]))
                     if it.item_id in versions and versions[it.item_id] != it.version else it for it in items]
        if item_ids is not None:
            order = {i: n for n, i in enumerate(item_ids)}
            items.sort(key=lambda it: order.get(it.item_id, len(order)))
        columns = ["item_id", "version", "key", "n_options"]
        for lang in languages:
            columns += [f"stem_{lang}", *(f"option_{lab.lower()}_{lang}" for lab in OPTION_LABELS), f"rationale_{lang}"]
        records = []
        for it in items:
            v = it.current
            rec = {"item_id": it.item_id, "version": v.version, "key": v.key, "n_options": v.n_options}
            for lang in languages:
                t = v.text(lang)
                rec[f"stem_{lang}"] = t.stem if t else ""
                for i, label in enumerate(OPTION_LABELS):
                    rec[f"option_{label.lower()}_{lang}"] = t.options[i] if t and i < len(t.options) else ""
                rec[f"rationale_{lang}"] = t.rationale if t else ""
            records.append(rec)
        return pd.DataFrame(records, columns=columns)
