"""Running the item-writing and translation checks (``itembank.lint``) over a bank or a file.

``certbank items lint`` calls :func:`lint_items`: the bank's current versions (optionally of some statuses)
or the items of one file (wide layout .xlsx/.csv/.json, or a QTI package .zip), read without the bank's
checks, so a draft file can be linted before it is importable. Imports lint through ``lint.check_import``.
"""
from __future__ import annotations

from pathlib import Path
from typing import Iterable

import pandas as pd

from certbank_core.errors import InputError, Problem
from itembank.importing import read_rows
from itembank.lint import LintConfig, lint_version, load_config
from itembank.model import OPTION_LABELS, ItemStatus, ItemText, ItemVersion

FINDING_COLUMNS = ("item_id", "language", "field", "rule", "severity", "message", "suggestion")


def versions_from_rows(rows) -> list[ItemVersion]:
    """Item versions from wide-layout rows, leniently: a language with a stem counts, empty options are cut."""
    out = []
    for _, row in rows:
        langs = sorted({c[len("stem_"):] for c in row if c.startswith("stem_") and (row.get(c) or "").strip()},
                       key=lambda lang: (lang != "en", lang))
        texts = []
        for lang in langs:
            options = [(row.get(f"option_{lab.lower()}_{lang}") or "").strip() for lab in OPTION_LABELS]
            while options and not options[-1]:
                options.pop()
            texts.append(ItemText(lang, row[f"stem_{lang}"].strip(), tuple(options),
                                  (row.get(f"rationale_{lang}") or "").strip()))
        if texts:
            out.append(ItemVersion(item_id=(row.get("item_id") or "").strip(), version=0,
                                   key=(row.get("key") or "").strip().upper(),
                                   primary_competency=(row.get("primary_competency") or "").strip(),
                                   texts=tuple(texts)))
    return out


def lint_items(bank, file: str | Path | None = None, statuses: Iterable[str] = (),
               config: str | Path | LintConfig | None = None) -> pd.DataFrame:
    """Every finding, one row each (:data:`FINDING_COLUMNS`), for a file or the bank's current versions."""
    cfg = config if isinstance(config, LintConfig) else load_config(config)
    if file is not None:
        path = Path(file)
        if path.suffix.lower() == ".zip":
            from itembank.qti_import import read_package

            rows = read_package(path)
        else:
            rows = read_rows(path)[1]
        versions = versions_from_rows(rows)
    else:
        wanted = set()
        for s in statuses:
            try:
                wanted.add(ItemStatus(s.strip().lower()))
            except ValueError:
                raise InputError(Problem(f"unknown status {s!r}; use one of "
                                         f"{', '.join(e.value for e in ItemStatus)}", None, None, "--status")) from None
        versions = [it.current for it in bank.items() if not wanted or it.status in wanted]
    findings = [f.as_dict() for v in versions for f in lint_version(v, cfg)]
    return pd.DataFrame(findings, columns=list(FINDING_COLUMNS))


def summary(frame: pd.DataFrame) -> str:
    """One line: how many findings, how many blocking, over how many items."""
    if frame.empty:
        return "No findings."
    n_block = int((frame["severity"] == "blocking").sum())
    return (f"{len(frame)} findings ({n_block} blocking, {len(frame) - n_block} warnings) on "
            f"{frame['item_id'].nunique()} items.")
