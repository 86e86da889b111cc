"""A blueprint derived from a job analysis: the base blueprint's text with new area counts and provenance.

The base blueprint (the shipped ``blueprints/default/peer_support.toml`` unless told otherwise) keeps every
rule; only each ``[[content.areas]]`` block's ``count`` (and ``exam.length``) change, and the comment that
explained the hand-set counts is replaced by the job analysis's provenance: survey SHA-256, date, the rules.
"""
from __future__ import annotations

import re
import textwrap
from pathlib import Path

from blueprints.loading import parse_blueprint
from blueprints.model import Blueprint
from certbank_core.errors import InputError, Problem

_COUNT = re.compile(r"^(\s*)count\s*=\s*\d+(.*)$")
_CODE = re.compile(r'^\s*code\s*=\s*"([^"]+)"')
_LENGTH = re.compile(r"^(\s*)length\s*=\s*\d+(.*)$")


def area_counts(bp: Blueprint) -> dict[str, tuple[str, int]]:
    """The blueprint's fixed item count of each area: code → (label, count)."""
    out = {}
    for rule in bp.counts:
        if rule.attribute == "area" and len(rule.values) == 1 and rule.lower is not None and rule.lower == rule.upper:
            out[rule.values[0]] = (rule.label, int(rule.lower))
    return out


def bank_supply(pool, bp: Blueprint) -> dict[str, int]:
    """Items of each area that may fill a scored slot: a scored status and reviewed in every required
    language beyond English (the bank's ``<lang>_status`` columns)."""
    eligible = pool["status"].isin(bp.eligibility.scored_statuses)
    for lang in bp.eligibility.reviewed_languages:
        column = f"{lang}_status"
        if lang != "en" and column in pool.columns:
            eligible &= pool[column] == "reviewed"
    return pool[eligible].groupby("area").size().to_dict()


def check_base_areas(bp: Blueprint, area_codes, base_name: str) -> dict[str, tuple[str, int]]:
    """The base blueprint's area counts; its areas must be exactly the framework's."""
    current = area_counts(bp)
    problems = []
    missing = [a for a in area_codes if a not in current]
    extra = [a for a in current if a not in set(area_codes)]
    if missing:
        problems.append(Problem(f"the base blueprint has no fixed count for the area(s) {', '.join(missing)}; a "
                                f"derived blueprint needs one [[content.areas]] block with a count per area",
                                base_name))
    if extra:
        problems.append(Problem(f"the base blueprint counts area(s) {', '.join(extra)} that are not in the "
                                f"framework", base_name))
    if problems:
        raise InputError(problems)
    return current


def derive_blueprint_text(base_text: str, counts: dict[str, int], length: int, provenance: list[str],
                          file: str = "<blueprint>") -> str:
    """The base blueprint's text with each area's ``count`` and ``exam.length`` replaced and the comment
    just above the first ``[[content.areas]]`` replaced by ``provenance`` (lines without '#')."""
    lines = base_text.splitlines()
    first = next((i for i, ln in enumerate(lines) if ln.strip() == "[[content.areas]]"), None)
    if first is None:
        raise InputError(Problem("the base blueprint has no [[content.areas]] block", file))
    start = first
    while start > 0 and lines[start - 1].lstrip().startswith("#"):
        start -= 1
    out = lines[:start] + [f"# {ln}".rstrip() for ln in provenance] + lines[first:]
    section, code, done = "", None, set()
    for i, ln in enumerate(out):
        stripped = ln.strip()
        if stripped.startswith("["):
            section, code = stripped, None
            continue
        if section == "[exam]" and _LENGTH.match(ln):
            out[i] = _LENGTH.sub(lambda m: f"{m.group(1)}length = {length}{m.group(2)}", ln)
        if section != "[[content.areas]]":
            continue
        m = _CODE.match(ln)
        if m:
            code = m.group(1)
        if _COUNT.match(ln) and code in counts:
            out[i] = _COUNT.sub(lambda m: f"{m.group(1)}count = {int(counts[code])}{m.group(2)}", ln)
            done.add(code)
    missing = [c for c in counts if c not in done]
    if missing:
        raise InputError(Problem("the base blueprint's area blocks must give 'code' before 'count'; no count was "
                                 f"replaced for {', '.join(missing)}", file))
    text = "\n".join(out) + "\n"
    bp = parse_blueprint(text, file=file)
    got = {code: count for code, (_, count) in area_counts(bp).items()}
    if got != {c: int(v) for c, v in counts.items()} or bp.exam.length != length:
        raise InputError(Problem("the derived blueprint does not read back with the new counts", file))
    return text


def provenance_lines(*, survey: Path, sha256: str, date: str, n_respondents: int, base: str, rule: str,
                     min_per_area: int, capped: dict[str, int], length: int, version: str) -> list[str]:
    """The comment block of a derived blueprint: where its counts came from."""
    paragraphs = [
        f"survey {survey.name}, {n_respondents} respondents, sha256 {sha256}; analysed {date} with certbank "
        f"{version}; base blueprint {base} (all its other rules kept).",
        "Criticality of a competency = the mean over respondents of importance (0-4) x frequency (0-5) (Raymond & "
        f"Neustel 2006); {rule}.",
        "Area weight = the area's share of the included competencies' criticality; items per area = weight x "
        f"{length}, at least {min_per_area} per area and at most what the bank can supply, rounded by largest "
        "remainder (Hamilton) so the counts sum to the length.",
    ] + [f"{code} is capped at {cap}: its weight asks for more items than the bank can supply (write more)."
         for code, cap in capped.items()]
    lines = ["Content weights from the job analysis (certbank jta analyze):"]
    for p in paragraphs:
        lines += textwrap.wrap(p, width=104, initial_indent="  ", subsequent_indent="  ", break_on_hyphens=False)
    return lines
