"""Bank methods for competency frameworks and the crosswalk between them (mixed into ``store.Bank``)."""
from __future__ import annotations

from typing import Iterable

import pandas as pd

from certbank_core.errors import InputError, NotFoundError, Problem
from itembank.model import Area, Competency, CrosswalkLink, Framework, utc_now


class FrameworksMixin:
    """Frameworks: code, name, version; areas; competencies with stable codes; an optional crosswalk."""

    def save_framework(self, framework: Framework, source: str | None = None) -> dict:
        """Add a framework, or update the titles of one already in the bank (codes are stable).

        A competency that disappears from a new version of a framework is removed, unless items use it
        (then :class:`InputError`). Returns counts: areas, competencies, removed.
        """

        problems = _check_framework(framework, source)
        old = self._framework_or_none(framework.code)
        new_codes = {c.code for c in framework.competencies}
        removed = [] if old is None else [c.code for c in old.competencies if c.code not in new_codes]
        for code in removed:
            if self._q("SELECT 1 FROM item_versions WHERE primary_competency = ? OR EXISTS (SELECT 1 FROM "
                       "json_each(item_versions.secondary_competencies) WHERE value = ?) LIMIT 1", (code, code)):
                problems.append(Problem(f"competency {code} is used by items and cannot be removed", source))
        clash = self._q(
            "SELECT code, framework_code FROM competencies WHERE framework_code <> ?", (framework.code,)
        )
        taken = {r["code"]: r["framework_code"] for r in clash}
        for c in framework.competencies:
            if c.code in taken:
                problems.append(Problem(f"competency {c.code} already belongs to framework {taken[c.code]}", source))
        if problems:
            raise InputError(problems)
        with self.transaction():
            now = utc_now()
            self._x(
                "INSERT INTO frameworks(code, name, version, imported_at, imported_by) VALUES (?, ?, ?, ?, ?) "
                "ON CONFLICT(code) DO UPDATE SET name = excluded.name, version = excluded.version, "
                "imported_at = excluded.imported_at, imported_by = excluded.imported_by",
                (framework.code, framework.name, framework.version, now, self.user),
            )
            for code in removed:
                self._x("DELETE FROM crosswalk WHERE from_code = ? OR to_code = ?", (code, code))
                self._x("DELETE FROM competencies WHERE code = ?", (code,))
            new_areas = {a.code for a in framework.areas}
            for a_pos, area in enumerate(framework.areas, start=1):
                self._x(
                    "INSERT INTO areas(code, framework_code, title, position) VALUES (?, ?, ?, ?) "
                    "ON CONFLICT(code) DO UPDATE SET title = excluded.title, position = excluded.position",
                    (area.code, framework.code, area.title, a_pos),
                )
                for c_pos, comp in enumerate(area.competencies, start=1):
                    self._x(
                        "INSERT INTO competencies(code, area_code, framework_code, title, position) "
                        "VALUES (?, ?, ?, ?, ?) ON CONFLICT(code) DO UPDATE SET title = excluded.title, "
                        "area_code = excluded.area_code, position = excluded.position",
                        (comp.code, area.code, framework.code, comp.title, c_pos),
                    )
            for r in self._q("SELECT code FROM areas WHERE framework_code = ?", (framework.code,)):
                if r["code"] not in new_areas:
                    self._x("DELETE FROM areas WHERE code = ?", (r["code"],))
            summary = {"framework": framework.code, "areas": len(framework.areas),
                       "competencies": len(framework.competencies), "removed": len(removed)}
            self._audit("framework.import", None, None if old is None else _framework_dict(old),
                        _framework_dict(framework))
        return summary

    def save_crosswalk(self, links: Iterable[CrosswalkLink], source: str | None = None) -> int:
        """Add (or re-annotate) crosswalk links; both codes of each must be known competencies."""
        links = list(links)
        known = self.competency_codes()
        problems = []
        for i, link in enumerate(links, start=1):
            for side, code in (("from", link.from_code), ("to", link.to_code)):
                if code not in known:
                    problems.append(Problem(f"crosswalk entry {i}: unknown competency {code!r}", source, None, side))
        if problems:
            raise InputError(problems)
        with self.transaction():
            for link in links:
                self._x(
                    "INSERT INTO crosswalk(from_code, to_code, note) VALUES (?, ?, ?) "
                    "ON CONFLICT(from_code, to_code) DO UPDATE SET note = excluded.note",
                    (link.from_code, link.to_code, link.note),
                )
            self._audit("crosswalk.import", None, None, {"links": len(links), "source": source})
        return len(links)

    def crosswalk(self, code: str | None = None) -> list[CrosswalkLink]:
        """All crosswalk links, or those touching ``code`` (either side)."""
        if code is None:
            rows = self._q("SELECT * FROM crosswalk ORDER BY from_code, to_code")
        else:
            rows = self._q("SELECT * FROM crosswalk WHERE from_code = ? OR to_code = ? "
                           "ORDER BY from_code, to_code", (code, code))
        return [CrosswalkLink(r["from_code"], r["to_code"], r["note"]) for r in rows]

    def frameworks(self) -> list[Framework]:
        return [self.get_framework(r["code"]) for r in self._q("SELECT code FROM frameworks ORDER BY code")]

    def get_framework(self, code: str) -> Framework:
        fw = self._framework_or_none(code)
        if fw is None:
            known = ", ".join(r["code"] for r in self._q("SELECT code FROM frameworks ORDER BY code")) or "none"
            raise NotFoundError(f"There is no framework {code!r} in the bank (known: {known}).")
        return fw

    def _framework_or_none(self, code: str) -> Framework | None:
        head = self._q("SELECT * FROM frameworks WHERE code = ?", (code,))
        if not head:
            return None
        comps: dict[str, list[Competency]] = {}
        for r in self._q("SELECT * FROM competencies WHERE framework_code = ? ORDER BY position", (code,)):
            comps.setdefault(r["area_code"], []).append(Competency(r["code"], r["title"], r["area_code"], code))
        areas = tuple(
            Area(r["code"], r["title"], code, tuple(comps.get(r["code"], ())))
            for r in self._q("SELECT * FROM areas WHERE framework_code = ? ORDER BY position", (code,))
        )
        h = head[0]
        return Framework(h["code"], h["name"], h["version"], areas)

    def competency_codes(self) -> set[str]:
        return {r["code"] for r in self._q("SELECT code FROM competencies")}

    def competencies(self) -> pd.DataFrame:
        """One row per competency: code, title, area_code, area_title, framework_code."""
        rows = self._q(
            "SELECT c.code, c.title, c.area_code, a.title AS area_title, c.framework_code "
            "FROM competencies c JOIN areas a ON a.code = c.area_code "
            "ORDER BY c.framework_code, a.position, c.position"
        )
        cols = ["code", "title", "area_code", "area_title", "framework_code"]
        return pd.DataFrame([tuple(r) for r in rows], columns=cols)


def _check_framework(fw: Framework, source: str | None) -> list[Problem]:
    problems = []
    if not fw.code:
        problems.append(Problem("the framework has no code", source))
    seen: set[str] = set()
    for area in fw.areas:
        for code in (area.code, *(c.code for c in area.competencies)):
            if code in seen:
                problems.append(Problem(f"code {code} appears more than once", source))
            seen.add(code)
            if fw.code and not code.startswith(fw.code + "."):
                problems.append(Problem(f"code {code} does not start with the framework code {fw.code}.", source))
    return problems


def _framework_dict(fw: Framework) -> dict:
    return {
        "code": fw.code, "name": fw.name, "version": fw.version,
        "areas": [{"code": a.code, "title": a.title,
                   "competencies": [[c.code, c.title] for c in a.competencies]} for a in fw.areas],
    }
