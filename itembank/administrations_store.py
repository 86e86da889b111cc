"""Bank methods for administrations and the CTT statistics dated by them (mixed into ``Bank``).

A program runs year after year: each delivery of a form is an *administration* (id, form, testing window,
candidate counts, the SHA-256 of its response file). Statistics saved with an ``administration_id`` are dated
by it, so an item's history reads oldest administration first. The SHA-256 is unique: one response file is
one administration, and attaching it to a second is refused naming the first.
"""
from __future__ import annotations

import json
import re
from datetime import date
from typing import Iterable

import pandas as pd

from certbank_core.errors import InputError, NotFoundError, Problem
from itembank.model import BANK_SCALE, Administration, utc_now

STAT_COLUMNS = ("n", "p_value", "point_biserial")
ADMINISTRATION_COLUMNS = ["administration_id", "form_id", "window_start", "window_end", "n_candidates",
                          "language_counts", "responses_sha256", "created_at", "created_by", "notes"]
#: Columns of :meth:`AdministrationsMixin.statistics_table` / ``item_statistics_history``.
HISTORY_COLUMNS = ["item_id", "version", "administration_id", "form_id", "window_start", "window_end",
                   "analysis_label", "group", "computed_at", "n", "p_value", "point_biserial_corrected",
                   "point_biserial_total", "a", "b", "c", "D", "parameter_set_id", "scale", "method"]
_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:\-]*$")
_SHA256 = re.compile(r"^[0-9a-f]{64}$")


def _num(value):
    """A float for SQLite, or None for missing/NaN."""
    if value is None:
        return None
    try:
        f = float(value)
    except (TypeError, ValueError):
        return None
    return None if f != f else f


def _iso_date(value, name: str, problems: list[Problem]) -> str | None:
    if value is None or value == "":
        return None
    try:
        return date.fromisoformat(str(value)).isoformat()
    except ValueError:
        problems.append(Problem(f"{name} {value!r} is not a date written YYYY-MM-DD"))
        return None


def _not_found(administration_id: str) -> NotFoundError:
    return NotFoundError(f"There is no administration {administration_id!r} in the bank; "
                         "`certbank administrations list` shows them.")


class AdministrationsMixin:
    # ---- administrations --------------------------------------------------------------------------------

    def add_administration(self, administration_id: str | None, form_id: str, *, window_start: str | None = None,
                           window_end: str | None = None, n_candidates: int | None = None,
                           language_counts: dict[str, int] | None = None, responses_sha256: str | None = None,
                           notes: str = "") -> Administration:
        """Record one delivery of ``form_id``; returns it. ``administration_id`` None generates
        ``<form_id>-<window_start or today>`` (with ``-2``, ``-3`` … if taken). Dates are YYYY-MM-DD;
        ``language_counts`` maps language → candidates and may not add up to more than ``n_candidates``."""
        with self.transaction():
            adm = self._checked_administration(administration_id, form_id, window_start, window_end,
                                               n_candidates, language_counts, responses_sha256, notes)
            self._x("INSERT INTO administrations(administration_id, form_id, window_start, window_end, n_candidates,"
                    " language_counts, responses_sha256, created_at, created_by, notes) VALUES (?,?,?,?,?,?,?,?,?,?)",
                    (adm.administration_id, adm.form_id, adm.window_start, adm.window_end, adm.n_candidates,
                     json.dumps(adm.language_counts, sort_keys=True), adm.responses_sha256, adm.created_at,
                     adm.created_by, adm.notes))
            self._audit("administration.add", None, None, {
                "administration_id": adm.administration_id, "form_id": adm.form_id,
                "window": [adm.window_start, adm.window_end], "n_candidates": adm.n_candidates,
                "language_counts": adm.language_counts, "responses_sha256": adm.responses_sha256})
        return adm

    def _checked_administration(self, administration_id, form_id, window_start, window_end, n_candidates,
                                language_counts, responses_sha256, notes) -> Administration:
        """Validate every field (all problems at once) inside the caller's transaction."""
        problems: list[Problem] = []
        if not self._q("SELECT 1 FROM forms WHERE form_id = ?", (form_id,)):
            raise NotFoundError(f"There is no form {form_id!r} in the bank; an administration delivers a saved form.")
        start = _iso_date(window_start, "window_start", problems)
        end = _iso_date(window_end, "window_end", problems)
        if start and end and start > end:
            problems.append(Problem(f"the window ends ({end}) before it starts ({start})"))
        if administration_id is None:
            administration_id = self._new_administration_id(form_id, start)
        elif not _ID.match(str(administration_id)):
            problems.append(Problem(f"administration id {administration_id!r} must be letters, digits, "
                                    "'.', '_', ':' or '-'"))
        elif self._q("SELECT 1 FROM administrations WHERE administration_id = ?", (administration_id,)):
            problems.append(Problem(f"there is already an administration {administration_id!r}; "
                                    "choose another id"))
        if n_candidates is not None and (isinstance(n_candidates, bool) or not isinstance(n_candidates, int)
                                         or n_candidates < 0):
            problems.append(Problem(f"n_candidates {n_candidates!r} must be a whole number ≥ 0"))
            n_candidates = None
        counts = dict(language_counts or {})
        for lang, count in counts.items():
            if not isinstance(lang, str) or not lang or isinstance(count, bool) or not isinstance(count, int) \
                    or count < 0:
                problems.append(Problem(f"language count {lang!r}: {count!r} must be a language code with a "
                                        "whole number ≥ 0"))
        if n_candidates is not None and not problems and sum(counts.values()) > n_candidates:
            problems.append(Problem(f"the language counts add up to {sum(counts.values())}, more than the "
                                    f"{n_candidates} candidates"))
        sha = self._checked_sha(responses_sha256, problems)
        if problems:
            raise InputError(problems)
        return Administration(administration_id, form_id, start, end, n_candidates, counts, sha, utc_now(),
                              self.user, (notes or "").strip())

    def _checked_sha(self, responses_sha256, problems: list[Problem], own_id: str | None = None) -> str | None:
        if responses_sha256 in (None, ""):
            return None
        sha = str(responses_sha256).strip().lower()
        if not _SHA256.match(sha):
            problems.append(Problem(f"responses_sha256 {responses_sha256!r} is not a SHA-256 (64 hex digits)"))
            return None
        other = self.administration_for_sha256(sha)
        if other is not None and other != own_id:
            problems.append(Problem(f"this response file (SHA-256 {sha[:12]}…) is already attached to "
                                    f"administration {other!r}; one file is one administration"))
        return sha

    def _new_administration_id(self, form_id: str, start: str | None) -> str:
        base = f"{form_id}-{start or utc_now()[:10]}"
        taken = {r[0] for r in self._q("SELECT administration_id FROM administrations WHERE administration_id "
                                       "= ? OR administration_id LIKE ?", (base, base + "-%"))}
        n, candidate = 1, base
        while candidate in taken:
            n += 1
            candidate = f"{base}-{n}"
        return candidate

    def get_administration(self, administration_id: str) -> Administration:
        rows = self._q("SELECT * FROM administrations WHERE administration_id = ?", (administration_id,))
        if not rows:
            raise _not_found(administration_id)
        r = rows[0]
        return Administration(r["administration_id"], r["form_id"], r["window_start"], r["window_end"],
                              r["n_candidates"], json.loads(r["language_counts"]), r["responses_sha256"],
                              r["created_at"], r["created_by"], r["notes"])

    def list_administrations(self) -> pd.DataFrame:
        """One row per administration, oldest window first (creation time when no window): the columns of
        :data:`ADMINISTRATION_COLUMNS`, ``language_counts`` as JSON text."""
        rows = self._q("SELECT * FROM administrations ORDER BY COALESCE(window_start, window_end, created_at), "
                       "created_at, administration_id")
        return pd.DataFrame([tuple(r[c] for c in ADMINISTRATION_COLUMNS) for r in rows],
                            columns=ADMINISTRATION_COLUMNS)

    def administration_for_sha256(self, sha256: str) -> str | None:
        """The administration a response file (by SHA-256) is attached to, or None."""
        rows = self._q("SELECT administration_id FROM administrations WHERE responses_sha256 = ?",
                       (str(sha256 or "").strip().lower(),))
        return rows[0][0] if rows else None

    def ensure_administration(self, administration_id: str, form_id: str, responses_sha256: str | None = None,
                              **fields) -> tuple[Administration, bool]:
        """Get-or-create, for "created on first use" (e.g. ``analyze --administration ID``).

        Returns (administration, created). An existing one must be of ``form_id``, and its SHA-256 must equal
        ``responses_sha256`` or be empty (then the file is attached to it, audited); other ``fields``
        (window_start, …) apply only when creating, except that attaching a file to an administration recorded
        without counts also records the file's ``n_candidates`` and ``language_counts`` when given. Anything else
        is refused with one sentence, bank unchanged."""
        with self.transaction():
            rows = self._q("SELECT 1 FROM administrations WHERE administration_id = ?", (administration_id,))
            if not rows:
                return self.add_administration(administration_id, form_id, responses_sha256=responses_sha256,
                                               **fields), True
            adm = self.get_administration(administration_id)
            if adm.form_id != form_id:
                raise InputError(f"Administration {administration_id!r} delivered form {adm.form_id!r}, not "
                                 f"{form_id!r}; use another administration id for form {form_id}.")
            problems: list[Problem] = []
            sha = self._checked_sha(responses_sha256, problems, own_id=administration_id)
            if problems:
                raise InputError(problems)
            if sha is None or sha == adm.responses_sha256:
                return adm, False
            if adm.responses_sha256:
                raise InputError(f"Administration {administration_id!r} was recorded from another response file "
                                 f"(SHA-256 {adm.responses_sha256[:12]}…, this one {sha[:12]}…); one "
                                 "administration is one file.")
            self._x("UPDATE administrations SET responses_sha256 = ? WHERE administration_id = ?",
                    (sha, administration_id))
            before = {"administration_id": administration_id, "responses_sha256": None}
            after = {"administration_id": administration_id, "responses_sha256": sha}
            n, counts = fields.get("n_candidates"), fields.get("language_counts")
            if adm.n_candidates is None and not adm.language_counts and n is not None:
                # recorded before its data arrived (`administrations add`): the file's counts fill the gap
                checked = self._checked_administration(None, form_id, None, None, n, counts, None, "")
                self._x("UPDATE administrations SET n_candidates = ?, language_counts = ? "
                        "WHERE administration_id = ?",
                        (checked.n_candidates, json.dumps(checked.language_counts, sort_keys=True),
                         administration_id))
                before.update(n_candidates=None, language_counts={})
                after.update(n_candidates=checked.n_candidates, language_counts=checked.language_counts)
            self._audit("administration.attach", None, before, after)
            return self.get_administration(administration_id), False

    # ---- statistics -------------------------------------------------------------------------------------

    def save_item_statistics(self, frame: pd.DataFrame, analysis_label: str, group: str = "all",
                             administration_id: str | None = None) -> int:
        """Store CTT statistics per item version (columns item_id, [version], n, p_value, point_biserial, …).

        Other columns are kept in ``extra`` (JSON). With ``administration_id`` the rows are dated by that
        administration: every item must be on its form, and a missing version is the form's version (else the
        item's current version). Returns the number of rows saved."""
        records = frame.to_dict("records")
        with self.transaction():
            on_form: dict[str, int] | None = None
            if administration_id is not None:
                adm = self.get_administration(administration_id)
                if adm.form_id is not None:
                    on_form = {r[0]: r[1] for r in self._q(
                        "SELECT item_id, version FROM form_items WHERE form_id = ?", (adm.form_id,))}
                    missing = sorted({str(r["item_id"]) for r in records} - set(on_form))
                    if missing:
                        raise InputError(f"Administration {administration_id!r} delivered form {adm.form_id}, "
                                         f"which does not hold {', '.join(missing)}; statistics of an "
                                         "administration are of the items on its form.")
            now = utc_now()
            for row in records:
                if on_form is not None and ("version" not in row or row["version"] is None
                                            or pd.isna(row["version"])):
                    row = {**row, "version": on_form[row["item_id"]]}
                version = self._version_for(row)
                extra = {k: _num(v) if not isinstance(v, str) else v for k, v in row.items()
                         if k not in ("item_id", "version", *STAT_COLUMNS)}
                self._x("INSERT INTO item_statistics(item_id, version, analysis_label, grp, computed_at, n, "
                        "p_value, point_biserial, extra, administration_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                        (row["item_id"], version, analysis_label, group, now, _num(row.get("n")),
                         _num(row.get("p_value")), _num(row.get("point_biserial")), json.dumps(extra),
                         administration_id))
            self._audit("statistics.save", None, None, {"analysis_label": analysis_label, "group": group,
                                                        "administration_id": administration_id,
                                                        "n_items": len(records)})
        return len(records)

    def _statistics_rows(self, item_ids: Iterable[str] | None):
        sql = ("SELECT s.*, a.form_id AS adm_form, a.window_start, a.window_end FROM item_statistics s "
               "LEFT JOIN administrations a ON a.administration_id = s.administration_id")
        # Oldest administration first: its window, else when the statistics were computed. Filtering in
        # Python keeps any number of item ids within SQLite's bound-parameter limit.
        rows = self._q(sql + " ORDER BY COALESCE(a.window_start, a.window_end, s.computed_at), s.id")
        wanted = None if item_ids is None else set(item_ids)
        return [r for r in rows if wanted is None or r["item_id"] in wanted]

    def statistics_history(self, item_id: str) -> pd.DataFrame:
        """Every statistics row for an item, oldest administration first, with the extra columns spread out
        and the administration (administration_id, window_start, window_end; None when not recorded)."""
        records = []
        for r in self._statistics_rows([item_id]):
            rec = {"item_id": r["item_id"], "version": r["version"], "analysis_label": r["analysis_label"],
                   "group": r["grp"], "computed_at": r["computed_at"], "n": r["n"], "p_value": r["p_value"],
                   "point_biserial": r["point_biserial"], "administration_id": r["administration_id"],
                   "window_start": r["window_start"], "window_end": r["window_end"]}
            rec.update(json.loads(r["extra"]))
            records.append(rec)
        cols = ["item_id", "version", "analysis_label", "group", "computed_at", "n", "p_value", "point_biserial",
                "administration_id", "window_start", "window_end"]
        return pd.DataFrame(records, columns=None if records else cols)

    def item_statistics_history(self, item_id: str) -> pd.DataFrame:
        """An item across administrations (what ``certbank items stats ITEM`` prints): one row per
        administration × group, oldest first, with N, P, the corrected (item–rest) point-biserial and that
        administration's IRT parameters. Columns :data:`HISTORY_COLUMNS`."""
        self.get_item(item_id)
        return self.statistics_table([item_id])

    def statistics_table(self, item_ids: Iterable[str] | None = None) -> pd.DataFrame:
        """:meth:`item_statistics_history` for many items (all if None), ordered by item then oldest first.

        The parameters joined to a row are from the accepted sets calibrated on that administration for that
        item version, preferring the bank scale, then the newest; NaN/None when there are none. An
        administration with parameters but no statistics for the item still gets a row (group '')."""
        ids = None if item_ids is None else list(item_ids)
        params = self._administration_parameters(ids)
        records, seen = [], set()
        for r in self._statistics_rows(ids):
            extra = json.loads(r["extra"])
            corrected = extra.get("point_biserial_corrected", extra.get("rpbis_rest", r["point_biserial"]))
            key = (r["administration_id"], r["item_id"], r["version"])
            seen.add(key)
            p = params.get(key, {}) if r["administration_id"] is not None else {}
            records.append({
                "item_id": r["item_id"], "version": r["version"], "administration_id": r["administration_id"],
                "form_id": r["adm_form"], "window_start": r["window_start"], "window_end": r["window_end"],
                "analysis_label": r["analysis_label"], "group": r["grp"], "computed_at": r["computed_at"],
                "n": r["n"], "p_value": r["p_value"], "point_biserial_corrected": _num(corrected),
                "point_biserial_total": _num(extra.get("point_biserial_total")),
                **{c: p.get(c) for c in ("a", "b", "c", "D", "parameter_set_id", "scale", "method")}})
        for key, p in params.items():
            if key not in seen:
                records.append({"item_id": key[1], "version": key[2], "administration_id": key[0],
                                "form_id": p["adm_form"], "window_start": p["window_start"],
                                "window_end": p["window_end"], "analysis_label": "", "group": "",
                                "computed_at": p["created_at"],
                                **{c: p.get(c) for c in ("a", "b", "c", "D", "parameter_set_id", "scale", "method")}})
        frame = pd.DataFrame(records, columns=HISTORY_COLUMNS)
        if records:
            when = frame["window_start"].fillna(frame["window_end"]).fillna(frame["computed_at"])
            order = sorted(range(len(frame)), key=lambda i: (frame.at[i, "item_id"], when[i]))
            frame = frame.iloc[order].reset_index(drop=True)
        for c in ("n", "p_value", "point_biserial_corrected", "point_biserial_total", "a", "b", "c", "D"):
            frame[c] = pd.to_numeric(frame[c]).astype(float)
        return frame

    def _administration_parameters(self, item_ids: list[str] | None) -> dict[tuple, dict]:
        """(administration_id, item_id, version) → the parameters of that administration's preferred set."""
        sql = ("SELECT p.item_id, p.version, p.a, p.b, p.c, p.D, s.id AS parameter_set_id, s.scale, s.method, "
               "s.administration_id, s.created_at, a.form_id AS adm_form, a.window_start, a.window_end "
               "FROM item_parameters p JOIN parameter_sets s ON s.id = p.parameter_set_id "
               "JOIN administrations a ON a.administration_id = s.administration_id WHERE s.accepted = 1")
        # Later rows win: other scales first, the bank scale last; within each, oldest set first.
        rows = self._q(sql + " ORDER BY s.scale = ?, s.id, p.id", (BANK_SCALE,))
        wanted = None if item_ids is None else set(item_ids)
        return {(r["administration_id"], r["item_id"], r["version"]): dict(r) for r in rows
                if wanted is None or r["item_id"] in wanted}
