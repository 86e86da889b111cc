"""Read-only views of the bank for people: filtered item lists, one item in full, history, audit log.

Each function returns a DataFrame or text; the CLI only prints what it gets. No SQL here: everything is
built from :class:`~itembank.store.Bank` reads.
"""
from __future__ import annotations

import json

import pandas as pd

from certbank_core.errors import InputError
from itembank.model import OPTION_LABELS, Item, ItemStatus, TranslationStatus

LIST_COLUMNS = ["item_id", "version", "status", "primary_competency", "cognitive_level", "key", "n_options",
                "languages", "es_status", "stem_en"]


def _complete(item: Item, language: str) -> bool:
    t = item.current.text(language)
    return t is not None and t.translation_status is TranslationStatus.REVIEWED


def list_items(bank, status: str | None = None, competency: str | None = None, complete: str | None = None,
               incomplete: str | None = None, search: str | None = None) -> pd.DataFrame:
    """Items (current version) filtered by status, competency code prefix (primary or secondary), language
    completeness (text present and reviewed in that language, or not), and text search (case-insensitive,
    in stems, options, rationales and keywords of every language). Columns :data:`LIST_COLUMNS`."""
    if status is not None:
        try:
            status = ItemStatus(status.lower()).value
        except ValueError:
            raise InputError(f"Unknown status {status!r}; use one of "
                             + ", ".join(s.value for s in ItemStatus) + ".") from None
    needle = search.casefold() if search else None
    records = []
    for it in bank.items():
        v = it.current
        if status and it.status.value != status:
            continue
        if competency and not any(c == competency or c.startswith(competency.rstrip(".") + ".")
                                  for c in (v.primary_competency, *v.secondary_competencies)):
            continue
        if complete and not _complete(it, complete):
            continue
        if incomplete and _complete(it, incomplete):
            continue
        if needle:
            hay = " ".join([*v.keywords, *(" ".join([t.stem, *t.options, t.rationale]) for t in v.texts)])
            if needle not in hay.casefold():
                continue
        es = v.text("es")
        records.append((it.item_id, v.version, it.status.value, v.primary_competency, v.cognitive_level.value,
                        v.key, v.n_options, ";".join(v.languages), es.translation_status.value if es else "",
                        v.text("en").stem if v.text("en") else ""))
    return pd.DataFrame(records, columns=LIST_COLUMNS)


def show_item(bank, item_id: str, language: str = "en") -> str:
    """One item in full, readable: metadata, then stem and options in ``language`` with the key marked."""
    it = bank.get_item(item_id)
    v = it.current
    t = v.text(language)
    if t is None:
        raise InputError(f"Item {item_id} has no text in {language!r} (it has: {', '.join(v.languages)}).")
    lines = [
        f"{it.item_id}  version {v.version}  status {it.status.value}",
        f"competency {v.primary_competency}"
        + (f" (also {', '.join(v.secondary_competencies)})" if v.secondary_competencies else ""),
        f"cognitive level {v.cognitive_level.value}; key {v.key}; languages {', '.join(v.languages)}",
    ]
    if v.author or v.source:
        lines.append(f"author {v.author or '-'}; source {v.source or '-'}")
    if v.keywords:
        lines.append("keywords " + "; ".join(v.keywords))
    if it.enemies:
        lines.append("enemies " + "; ".join(it.enemies))
    lines.append(f"exposures {it.exposure_count}" + (f" (last on form {it.last_used_form})" if it.last_used_form else ""))
    lines += ["", f"[{language}, {t.translation_status.value}]", t.stem, ""]
    for label, option in zip(OPTION_LABELS, t.options):
        mark = "*" if label == v.key else " "
        lines.append(f"{mark} {label}. {option}")
    if t.rationale:
        lines += ["", "Rationale: " + t.rationale]
    return "\n".join(lines)


def item_history(bank, item_id: str) -> pd.DataFrame:
    """Versions and status changes of an item, oldest first: when, user, event, detail."""
    rows = []
    for v in bank.item_versions(item_id):
        en = v.text("en")
        rows.append((v.created_at, v.created_by, f"version {v.version}",
                     f"key {v.key}; {v.primary_competency}; {en.stem[:60] if en else ''}"))
    for s in bank.status_history(item_id):
        change = f"{s.from_status.value} -> {s.to_status.value}" if s.from_status else f"created as {s.to_status.value}"
        rows.append((s.at, s.user, "status", f"{change}: {s.reason}"))
    frame = pd.DataFrame(rows, columns=["at", "user", "event", "detail"])
    return frame.sort_values("at", kind="stable").reset_index(drop=True)


def audit_frame(bank, item_id: str | None = None) -> pd.DataFrame:
    """The audit log (oldest first): id, at, user, action, item_id, before, after (JSON text)."""
    if item_id is not None:
        bank.get_item(item_id)
    rows = [(e.entry_id, e.at, e.user, e.action, e.item_id or "",
             "" if e.before is None else json.dumps(e.before, ensure_ascii=False),
             "" if e.after is None else json.dumps(e.after, ensure_ascii=False))
            for e in bank.audit_log(item_id)]
    return pd.DataFrame(rows, columns=["id", "at", "user", "action", "item_id", "before", "after"])


def frameworks_frame(bank) -> pd.DataFrame:
    rows = [(fw.code, fw.name, fw.version, len(fw.areas), len(fw.competencies)) for fw in bank.frameworks()]
    return pd.DataFrame(rows, columns=["code", "name", "version", "areas", "competencies"])


def show_framework(bank, code: str) -> str:
    fw = bank.get_framework(code)
    lines = [f"{fw.code}: {fw.name} (version {fw.version})"]
    for area in fw.areas:
        lines.append(f"  {area.code}  {area.title}")
        for c in area.competencies:
            lines.append(f"    {c.code}  {c.title}")
    links = [link for link in bank.crosswalk() if link.from_code.startswith(fw.code + ".")
             or link.to_code.startswith(fw.code + ".")]
    if links:
        lines.append(f"Crosswalk ({len(links)} links):")
        lines += [f"  {link.from_code} -> {link.to_code}" + (f"  {link.note}" if link.note else "") for link in links]
    return "\n".join(lines)
