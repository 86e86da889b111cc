"""Bank methods for items: versions, lifecycle, enemies, and the pool other areas read (mixed into ``Bank``).

An item's content lives in immutable versions. Saving an item whose content differs from its current
version (compared by :meth:`ItemVersion.content_hash`) adds version n+1; saving identical content does
nothing. Status changes follow :data:`model.ITEM_TRANSITIONS` and are recorded with who, when and why.
"""
from __future__ import annotations

import json
from dataclasses import replace
from typing import Iterable, Sequence

import pandas as pd

from certbank_core.errors import InputError, NotFoundError, Problem, TransitionError
from itembank.model import utc_now
from itembank.model import (
    CognitiveLevel, Item, ItemDraft, ItemStatus, ItemText, ItemVersion, StatusChange, TranslationStatus,
    can_transition,
)

POOL_COLUMNS = [
    "item_id", "version", "status", "primary_competency", "area", "framework", "secondary_competencies",
    "cognitive_level", "key", "n_options", "languages", "es_status", "enemies", "exposure_count",
    "last_used_form", "p_value", "point_biserial", "a", "b", "c", "D",
]


#: Statuses whose content is frozen: pretest data and operational statistics belong to the current version, so
#: a revision must be a new item (new id) that goes through pretest again. Retired is final: a new version of
#: it could never be used, and forms published with it keep showing the version candidates saw.
FROZEN_CONTENT = frozenset({ItemStatus.PRETEST, ItemStatus.OPERATIONAL, ItemStatus.RETIRED})


def frozen_content_message(item_id: str, status: ItemStatus, version: int) -> str:
    status = ItemStatus(status)
    todo = "import" if status is ItemStatus.RETIRED else "retire it and import"
    return (f"item {item_id} is {status.value}; its statistics belong to version {version}, so its "
            f"content cannot change: {todo} the revision under a new item id")


def normalize_text(text: str) -> str:
    """The one normal form of stored text: Unix newlines, no surrounding whitespace."""
    return (text or "").replace("\r\n", "\n").replace("\r", "\n").strip()


def normalize_version(v: ItemVersion) -> ItemVersion:
    texts = tuple(
        replace(t, stem=normalize_text(t.stem), options=tuple(normalize_text(o) for o in t.options),
                rationale=normalize_text(t.rationale), translation_status=TranslationStatus(t.translation_status))
        for t in sorted(v.texts, key=lambda t: (t.language != "en", t.language))
    )
    return replace(
        v, texts=texts, key=v.key.strip().upper(), cognitive_level=CognitiveLevel(v.cognitive_level),
        author=normalize_text(v.author), source=normalize_text(v.source),
        keywords=_unique(normalize_text(k) for k in v.keywords),
        secondary_competencies=_unique(s.strip() for s in v.secondary_competencies),
    )


def _unique(values) -> tuple[str, ...]:
    out: list[str] = []
    for v in values:
        if v and v not in out:
            out.append(v)
    return tuple(out)


class ItemsMixin:
    # ---- writing ----------------------------------------------------------------------------------------

    def save_items(self, drafts: Sequence[ItemDraft], reason: str = "import") -> dict[str, list[str]]:
        """Add new items and new versions of existing ones, in one transaction.

        New items get ``draft.status``; for an existing item a different status is a lifecycle transition
        (refused with :class:`TransitionError` if illegal). Enemies listed are added (never removed).
        Returns the item ids per outcome: created, new_version, unchanged, status_changed.
        """

        drafts = [replace(d, version=normalize_version(d.version), status=ItemStatus(d.status)) for d in drafts]
        outcome: dict[str, list[str]] = {"created": [], "new_version": [], "unchanged": [], "status_changed": []}
        with self.transaction():  # checks inside: the write lock keeps what they read true until commit
            self._check_drafts(drafts)
            now = utc_now()
            for d in drafts:
                v = d.version
                row = self._q("SELECT status, current_version FROM items WHERE item_id = ?", (v.item_id,))
                if not row:
                    self._x("INSERT INTO items(item_id, status, current_version, created_at, created_by) "
                            "VALUES (?, ?, 1, ?, ?)", (v.item_id, d.status.value, now, self.user))
                    self._insert_version(replace(v, version=1, created_at=now, created_by=self.user))
                    self._record_status(v.item_id, None, d.status, reason, now)
                    self._audit("item.create", v.item_id, None, {"status": d.status.value, **v.content()})
                    outcome["created"].append(v.item_id)
                    continue
                status, current = ItemStatus(row[0]["status"]), row[0]["current_version"]
                old = self.get_version(v.item_id, current)
                if old.content_hash() != v.content_hash():
                    if status in FROZEN_CONTENT:
                        raise TransitionError(frozen_content_message(v.item_id, status, current) + ".")
                    self._insert_version(replace(v, version=current + 1, created_at=now, created_by=self.user))
                    self._x("UPDATE items SET current_version = ? WHERE item_id = ?", (current + 1, v.item_id))
                    self._audit("item.version", v.item_id, {"version": current, **old.content()},
                                {"version": current + 1, **v.content()})
                    outcome["new_version"].append(v.item_id)
                else:
                    outcome["unchanged"].append(v.item_id)
                if d.status != status:
                    self._change_status(v.item_id, status, d.status, reason, now)
                    outcome["status_changed"].append(v.item_id)
            for d in drafts:
                for other in d.enemies:
                    self._add_enemy(d.version.item_id, other)
        return outcome

    def _check_drafts(self, drafts: list[ItemDraft]) -> None:
        known = self.competency_codes()
        ids = {d.version.item_id for d in drafts} | self.item_ids()
        problems = []
        seen: set[str] = set()
        for d in drafts:
            v, where = d.version, d.version.item_id
            if where in seen:
                problems.append(Problem(f"item {where} appears twice"))
            seen.add(where)
            if len(set(v.languages)) != len(v.languages):
                problems.append(Problem(f"item {where}: a language appears twice"))
            if any(not o for t in v.texts for o in t.options):
                problems.append(Problem(f"item {where}: an option is empty"))
            for code in (v.primary_competency, *v.secondary_competencies):
                if code not in known:
                    problems.append(Problem(f"item {where}: unknown competency {code!r}"))
            if not v.texts or v.texts[0].language != "en":
                problems.append(Problem(f"item {where}: English text is required"))
            if any(len(t.options) != v.n_options for t in v.texts) or not 2 <= v.n_options <= 6:
                problems.append(Problem(f"item {where}: every language needs the same 2-6 options"))
            if v.key not in v.option_labels:
                problems.append(Problem(f"item {where}: key {v.key!r} is not among options {v.option_labels}"))
            if any(not t.stem for t in v.texts):
                problems.append(Problem(f"item {where}: empty stem"))
            for e in d.enemies:
                if e not in ids or e == where:
                    problems.append(Problem(f"item {where}: enemy {e!r} is not another item in the bank"))
        if problems:
            raise InputError(problems)

    def _insert_version(self, v: ItemVersion) -> None:
        self._x(
            "INSERT INTO item_versions(item_id, version, key, n_options, primary_competency, "
            "secondary_competencies, cognitive_level, author, source, keywords, content_hash, created_at, "
            "created_by) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (v.item_id, v.version, v.key, v.n_options, v.primary_competency,
             json.dumps(list(v.secondary_competencies), ensure_ascii=False), v.cognitive_level.value,
             v.author, v.source, json.dumps(list(v.keywords), ensure_ascii=False), v.content_hash(),
             v.created_at, v.created_by),
        )
        for t in v.texts:
            self._x(
                "INSERT INTO item_texts(item_id, version, language, stem, options, rationale, translation_status)"
                " VALUES (?, ?, ?, ?, ?, ?, ?)",
                (v.item_id, v.version, t.language, t.stem, json.dumps(list(t.options), ensure_ascii=False),
                 t.rationale, TranslationStatus(t.translation_status).value),
            )

    def set_status(self, item_id: str, new_status: ItemStatus | str, reason: str) -> StatusChange:
        """Move an item along its lifecycle; :class:`TransitionError` if the move is not allowed."""

        new_status = _parse_status(new_status)
        if not (reason or "").strip():
            raise InputError("A status change needs a reason (why the item moves).")
        with self.transaction():
            old = self.get_item(item_id).status
            now = utc_now()
            self._change_status(item_id, old, new_status, reason.strip(), now)
        return StatusChange(item_id, old, new_status, self.user, now, reason.strip())

    def promote_items(self, item_ids: Iterable[str], reason: str) -> list[StatusChange]:
        """Move pretest items to operational, all in one transaction, with ``reason`` in each item's status
        history and audit entry (e.g. "pretest statistics of administration 2026-A meet the criteria").

        All or nothing: an unknown id is a :class:`NotFoundError`, and if any item is not in pretest the call
        is refused with one sentence naming them and nothing changes."""
        ids = list(dict.fromkeys(item_ids))
        if not ids:
            raise InputError("Promote which items? None were given.")
        if not (reason or "").strip():
            raise InputError("A promotion needs a reason (e.g. the administration whose statistics support it).")
        with self.transaction():
            found = {it.item_id: it.status for it in self.items(ids)}
            missing = [i for i in ids if i not in found]
            if missing:
                raise NotFoundError(f"There is no item {', '.join(map(repr, missing))} in the bank; nothing was "
                                    "promoted.")
            wrong = [f"{i} is {found[i].value}" for i in ids if found[i] is not ItemStatus.PRETEST]
            if wrong:
                raise TransitionError("Only pretest items can be promoted to operational, and "
                                      + "; ".join(wrong) + "; nothing was promoted.")
            now = utc_now()
            for i in ids:
                self._change_status(i, ItemStatus.PRETEST, ItemStatus.OPERATIONAL, reason.strip(), now)
        return [StatusChange(i, ItemStatus.PRETEST, ItemStatus.OPERATIONAL, self.user, now, reason.strip())
                for i in ids]

    def _change_status(self, item_id, old: ItemStatus, new: ItemStatus, reason: str, now: str) -> None:
        if not can_transition(old, new):
            raise TransitionError(
                f"Item {item_id} cannot move from {old.value} to {new.value}. Allowed from {old.value}: "
                + (", ".join(sorted(s.value for s in _allowed(old))) or "nothing (it is final)") + "."
            )
        self._x("UPDATE items SET status = ? WHERE item_id = ?", (new.value, item_id))
        self._record_status(item_id, old, new, reason, now)
        self._audit("item.status", item_id, {"status": old.value}, {"status": new.value, "reason": reason})

    def _record_status(self, item_id, old: ItemStatus | None, new: ItemStatus, reason: str, now: str) -> None:
        self._x("INSERT INTO status_history(item_id, from_status, to_status, user, at, reason) "
                "VALUES (?, ?, ?, ?, ?, ?)", (item_id, old.value if old else None, new.value, self.user, now, reason))

    def add_enemy(self, item_a: str, item_b: str) -> bool:
        """Record that two items must never share a form (symmetric). Returns False if already enemies."""
        for i in (item_a, item_b):
            self.get_item(i)
        if item_a == item_b:
            raise InputError(f"An item cannot be its own enemy ({item_a}).")
        with self.transaction():
            return self._add_enemy(item_a, item_b)

    def _add_enemy(self, item_a: str, item_b: str) -> bool:
        a, b = sorted((item_a, item_b))
        if self._q("SELECT 1 FROM enemies WHERE item_a = ? AND item_b = ?", (a, b)):
            return False
        self._x("INSERT INTO enemies(item_a, item_b) VALUES (?, ?)", (a, b))
        for item in (a, b):  # one entry per item, so `audit --item` shows it from either side
            self._audit("enemy.add", item, None, {"enemies": [a, b]})
        return True

    def remove_enemy(self, item_a: str, item_b: str) -> bool:
        a, b = sorted((item_a, item_b))
        with self.transaction():
            cur = self._x("DELETE FROM enemies WHERE item_a = ? AND item_b = ?", (a, b))
            if cur.rowcount:
                for item in (a, b):
                    self._audit("enemy.remove", item, {"enemies": [a, b]}, None)
        return bool(cur.rowcount)

    # ---- reading ----------------------------------------------------------------------------------------

    def item_ids(self) -> set[str]:
        return {r[0] for r in self._q("SELECT item_id FROM items")}

    def enemy_pairs(self) -> list[tuple[str, str]]:
        """Every enemy pair once, as (smaller id, larger id)."""
        return [(r[0], r[1]) for r in self._q("SELECT item_a, item_b FROM enemies ORDER BY item_a, item_b")]

    def enemies_of(self, item_id: str) -> tuple[str, ...]:
        rows = self._q("SELECT item_b FROM enemies WHERE item_a = ? UNION SELECT item_a FROM enemies "
                       "WHERE item_b = ? ORDER BY 1", (item_id, item_id))
        return tuple(r[0] for r in rows)

    def get_item(self, item_id: str) -> Item:
        items = self.items([item_id])
        if not items:
            raise NotFoundError(f"There is no item {item_id!r} in the bank.")
        return items[0]

    def items(self, item_ids: Iterable[str] | None = None) -> list[Item]:
        """Items (current version each), ordered by id; all of them if ``item_ids`` is None."""
        if item_ids is None:
            rows = self._q("SELECT * FROM items ORDER BY item_id")
        else:
            wanted = sorted(set(item_ids))
            rows = [r for start in range(0, len(wanted), 500) for r in self._q(
                f"SELECT * FROM items WHERE item_id IN ({','.join('?' * len(wanted[start:start + 500]))}) "
                "ORDER BY item_id", wanted[start:start + 500])]
        versions = self._load_versions([(r["item_id"], r["current_version"]) for r in rows])
        enemies: dict[str, list[str]] = {}
        for a, b in self.enemy_pairs():
            enemies.setdefault(a, []).append(b)
            enemies.setdefault(b, []).append(a)
        return [
            Item(r["item_id"], ItemStatus(r["status"]), versions[(r["item_id"], r["current_version"])],
                 tuple(sorted(enemies.get(r["item_id"], ()))), r["exposure_count"], r["last_used_form"])
            for r in rows
        ]

    def get_version(self, item_id: str, version: int) -> ItemVersion:
        found = self._load_versions([(item_id, version)])
        if not found:
            raise NotFoundError(f"Item {item_id!r} has no version {version}.")
        return found[(item_id, version)]

    def item_versions(self, item_id: str) -> list[ItemVersion]:
        """Every version of an item, oldest first."""
        rows = self._q("SELECT version FROM item_versions WHERE item_id = ? ORDER BY version", (item_id,))
        if not rows:
            raise NotFoundError(f"There is no item {item_id!r} in the bank.")
        found = self._load_versions([(item_id, r[0]) for r in rows])
        return [found[(item_id, r[0])] for r in rows]

    def status_history(self, item_id: str) -> list[StatusChange]:
        rows = self._q("SELECT * FROM status_history WHERE item_id = ? ORDER BY id", (item_id,))
        return [StatusChange(r["item_id"], ItemStatus(r["from_status"]) if r["from_status"] else None,
                             ItemStatus(r["to_status"]), r["user"], r["at"], r["reason"]) for r in rows]

    def _load_versions(self, keys: list[tuple[str, int]]) -> dict[tuple[str, int], ItemVersion]:
        if not keys:
            return {}
        wanted = set(keys)
        ids = sorted({k[0] for k in keys})
        text_rows, version_rows = [], []
        # Select by item id in chunks (SQLite limits bound parameters), then keep the wanted versions.
        for start in range(0, len(ids), 500):
            chunk = ids[start:start + 500]
            marks = ",".join("?" * len(chunk))
            text_rows += self._q(f"SELECT * FROM item_texts WHERE item_id IN ({marks}) "
                                 "ORDER BY language <> 'en', language", chunk)
            version_rows += self._q(f"SELECT * FROM item_versions WHERE item_id IN ({marks})", chunk)
        texts: dict[tuple[str, int], list[ItemText]] = {}
        for r in text_rows:
            k = (r["item_id"], r["version"])
            if k in wanted:
                texts.setdefault(k, []).append(ItemText(
                    r["language"], r["stem"], tuple(json.loads(r["options"])), r["rationale"],
                    TranslationStatus(r["translation_status"])))
        out = {}
        for r in version_rows:
            k = (r["item_id"], r["version"])
            if k in wanted:
                out[k] = ItemVersion(
                    item_id=r["item_id"], version=r["version"], key=r["key"],
                    primary_competency=r["primary_competency"], texts=tuple(texts.get(k, ())),
                    secondary_competencies=tuple(json.loads(r["secondary_competencies"])),
                    cognitive_level=CognitiveLevel(r["cognitive_level"]), author=r["author"], source=r["source"],
                    keywords=tuple(json.loads(r["keywords"])), created_by=r["created_by"],
                    created_at=r["created_at"])
        return out

    def item_pool(self, status: str | ItemStatus | Iterable | None = None) -> pd.DataFrame:
        """One row per item (current version) with the attributes assembly and analysis need.

        Columns: :data:`POOL_COLUMNS`, plus ``<lang>_status`` for each language beyond en/es. ``area`` is the area holding the primary competency. Statistics
        (p_value, point_biserial; group 'all') are the latest saved for the current version and IRT
        parameters (a, b, c, D) the current ones on the bank scale (:meth:`item_parameters`), NaN if none.
        """
        statuses = None
        if status is not None:
            statuses = {_parse_status(status).value} if isinstance(status, (str, ItemStatus)) else \
                {_parse_status(s).value for s in status}
        areas = {r["code"]: (r["area_code"], r["framework_code"])
                 for r in self._q("SELECT code, area_code, framework_code FROM competencies")}
        stats = self._latest_by_item(
            "SELECT item_id, version, p_value, point_biserial FROM item_statistics WHERE grp = 'all' ORDER BY id")
        params = self._current_parameters()  # the bank scale's current parameters
        records, other_status, others = [], [], set()
        for it in self.items():
            if statuses is not None and it.status.value not in statuses:
                continue
            v = it.current
            other_status.append({t.language: t.translation_status.value for t in v.texts
                                 if t.language not in ("en", "es")})
            others.update(other_status[-1])
            es = v.text("es")
            st = stats.get((it.item_id, v.version), {})
            pa = params.get((it.item_id, v.version), {})
            area, framework = areas.get(v.primary_competency, ("", ""))
            records.append((
                it.item_id, v.version, it.status.value, v.primary_competency, area, framework,
                "; ".join(v.secondary_competencies), v.cognitive_level.value, v.key, v.n_options,
                ";".join(v.languages), es.translation_status.value if es else "", "; ".join(it.enemies),
                it.exposure_count, it.last_used_form,
                st.get("p_value"), st.get("point_biserial"), pa.get("a"), pa.get("b"), pa.get("c"), pa.get("D"),
            ))
        frame = pd.DataFrame(records, columns=POOL_COLUMNS)
        # Languages beyond en/es get their own translation-status column ('' where absent), so eligibility
        # rules can require "reviewed" text in any language.
        for lang in sorted(others):
            frame[f"{lang}_status"] = [extra.get(lang, "") for extra in other_status]
        for col in ("p_value", "point_biserial", "a", "b", "c", "D"):
            frame[col] = pd.to_numeric(frame[col]).astype(float)
        return frame

    def _latest_by_item(self, sql: str) -> dict[tuple[str, int], dict]:
        latest = {}
        for r in self._q(sql):  # ordered by id, so later rows overwrite earlier ones
            latest[(r["item_id"], r["version"])] = dict(r)
        return latest


def _parse_status(value) -> ItemStatus:
    try:
        return ItemStatus(value.value if isinstance(value, ItemStatus) else str(value).strip().lower())
    except ValueError:
        raise InputError(f"Unknown item status {value!r}; use one of "
                         + ", ".join(s.value for s in ItemStatus) + ".") from None


def _allowed(old: ItemStatus):
    from itembank.model import ITEM_TRANSITIONS
    return ITEM_TRANSITIONS[old]
