"""Read a blueprint from TOML (stdlib ``tomllib``) or from a constraints table (.csv / .xlsx).

Every problem in the file is collected — wrong types, unknown keys, bad bounds — and raised together as one
:class:`~certbank_core.errors.InputError`, each problem naming the file and the key path (``content.areas[3].count``)
or the table row and column. See the README section "Blueprints and assembly" for the full format.

Constraints table layout (one row per rule, TestDesign-style, structured — nothing is evaluated):

=========  =============================================================================================
column     meaning
=========  =============================================================================================
id         a unique name for the rule (used in messages)
type       count | mean | item | enemies | overlap | length | pretest | eligible
attribute  the item pool column (count: area, primary_competency, key, cognitive_level, ...;
           mean/item: p_value, point_biserial, a, b, ...; eligible: status or language)
values     the values counted, separated by ';' (count, eligible)
lower      lower bound (blank: none); for length / pretest the number of slots
upper      upper bound (blank: none); for overlap the largest number of shared items
on         on/off (blank = on)
=========  =============================================================================================
"""
from __future__ import annotations

import math
import tomllib
from dataclasses import replace
from pathlib import Path
from typing import Any

import pandas as pd

from certbank_core.errors import InputError, Problem

from .model import (
    Anchor,
    Blueprint,
    CharacteristicTarget,
    CountRule,
    Eligibility,
    Exam,
    InformationTarget,
    ItemBoundRule,
    MeanRule,
)
from .validate import validate_blueprint

TABLE_COLUMNS = ("id", "type", "attribute", "values", "lower", "upper", "on")
TABLE_TYPES = ("count", "mean", "item", "enemies", "overlap", "length", "pretest", "eligible")
_ON = {"", "on", "yes", "true", "1", "y"}
_OFF = {"off", "no", "false", "0", "n"}
_TOP_KEYS = {"exam", "eligibility", "content", "rules", "classical", "targets", "anchor"}


class _Reader:
    """Typed access to nested TOML tables that records a Problem (with key path) instead of raising."""

    def __init__(self, file: str):
        self.file = file
        self.problems: list[Problem] = []

    def problem(self, path: str, message: str) -> None:
        self.problems.append(Problem(f"{path}: {message}" if path else message, file=self.file))

    def table(self, data: dict, key: str, path: str) -> dict:
        value = data.get(key, {})
        if not isinstance(value, dict):
            self.problem(_join(path, key), "must be a table")
            return {}
        return value

    def unknown(self, data: dict, allowed: set[str], path: str) -> None:
        for key in data:
            if key not in allowed:
                self.problem(_join(path, key), f"unknown key (expected one of: {', '.join(sorted(allowed))})")

    def get(self, data: dict, key: str, kind: str, path: str, default: Any = None) -> Any:
        if key not in data:
            return default
        value = data[key]
        where = _join(path, key)
        if kind == "int":
            if isinstance(value, bool) or not isinstance(value, int):
                self.problem(where, f"must be a whole number, not {value!r}")
                return default
        elif kind == "float":
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                self.problem(where, f"must be a number, not {value!r}")
                return default
            value = float(value)
        elif kind == "str":
            if not isinstance(value, str):
                self.problem(where, f"must be text, not {value!r}")
                return default
        elif kind == "bool":
            if not isinstance(value, bool):
                self.problem(where, f"must be true or false, not {value!r}")
                return default
        elif kind == "strs":
            if isinstance(value, str):
                value = [value]
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                self.problem(where, f"must be a list of text values, not {value!r}")
                return default
            value = tuple(value)
        elif kind == "floats":
            if not isinstance(value, list) or not all(
                isinstance(v, (int, float)) and not isinstance(v, bool) for v in value
            ):
                self.problem(where, f"must be a list of numbers, not {value!r}")
                return default
            value = tuple(float(v) for v in value)
        elif kind == "range":
            if (
                not isinstance(value, list)
                or len(value) != 2
                or not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in value)
            ):
                self.problem(where, f"must be a [lower, upper] pair of numbers, not {value!r}")
                return default
            value = (value[0], value[1])
        return value


def _join(path: str, key: str | int) -> str:
    if isinstance(key, int):
        return f"{path}[{key + 1}]"
    return f"{path}.{key}" if path else key


def load_blueprint(path: str | Path) -> Blueprint:
    """Load and validate a blueprint from ``.toml``, ``.csv`` or ``.xlsx``; raise InputError with every problem."""
    path = Path(path)
    if not path.exists():
        raise InputError(Problem("blueprint file not found", file=str(path)))
    suffix = path.suffix.lower()
    if suffix == ".toml":
        return _load_toml(path)
    if suffix in (".csv", ".xlsx"):
        exam = Exam(name=path.stem)
        bp, problems = _apply_table(Blueprint(exam=exam), path, standalone=True)
        problems += [Problem(p.message, p.file or str(path), p.row, p.column) for p in validate_blueprint(bp)]
        if problems:
            raise InputError(problems)
        return bp
    raise InputError(Problem("a blueprint must be a .toml, .csv or .xlsx file", file=str(path)))


def parse_blueprint(text: str, file: str = "<blueprint>", base_dir: Path | None = None) -> Blueprint:
    """Parse blueprint TOML text (see :func:`load_blueprint`)."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        raise InputError(Problem(f"not valid TOML: {err}", file=file)) from None
    return _from_dict(data, file, base_dir or Path("."))


def _load_toml(path: Path) -> Blueprint:
    return parse_blueprint(path.read_text(encoding="utf-8"), file=str(path), base_dir=path.parent)


def _bounds(r: _Reader, entry: dict, path: str) -> tuple[int | None, int | None]:
    count = r.get(entry, "count", "int", path)
    lower = r.get(entry, "min", "int", path)
    upper = r.get(entry, "max", "int", path)
    if count is not None:
        if lower is not None or upper is not None:
            r.problem(path, "give either count or min/max, not both")
        return count, count
    if lower is None and upper is None:
        r.problem(path, "needs count, or min and/or max")
    return lower, upper


def _from_dict(data: dict, file: str, base_dir: Path) -> Blueprint:
    r = _Reader(file)
    r.unknown(data, _TOP_KEYS, "")

    ex = r.table(data, "exam", "")
    r.unknown(ex, {"name", "length", "pretest_slots", "languages", "framework"}, "exam")
    if "name" not in ex:
        r.problem("exam.name", "is required")
    exam = Exam(
        name=r.get(ex, "name", "str", "exam", ""),
        length=r.get(ex, "length", "int", "exam", 120),
        pretest_slots=r.get(ex, "pretest_slots", "int", "exam", 0),
        languages=r.get(ex, "languages", "strs", "exam", ("en",)),
        framework=r.get(ex, "framework", "str", "exam", ""),
    )

    el = r.table(data, "eligibility", "")
    r.unknown(el, {"scored_statuses", "pretest_statuses", "reviewed_languages", "exclude_last_forms",
                   "max_exposure", "without_statistics", "pretest_repeat"}, "eligibility")
    eligibility = Eligibility(
        scored_statuses=r.get(el, "scored_statuses", "strs", "eligibility", ("operational",)),
        pretest_statuses=r.get(el, "pretest_statuses", "strs", "eligibility", ("pretest",)),
        reviewed_languages=r.get(el, "reviewed_languages", "strs", "eligibility", exam.languages),
        exclude_last_forms=r.get(el, "exclude_last_forms", "int", "eligibility", 0),
        max_exposure=r.get(el, "max_exposure", "int", "eligibility", None),
        without_statistics=r.get(el, "without_statistics", "str", "eligibility", "exclude"),
        pretest_repeat=r.get(el, "pretest_repeat", "bool", "eligibility", False),
    )

    counts: list[CountRule] = []
    content = r.table(data, "content", "")
    r.unknown(content, {"areas", "competencies"}, "content")
    for key, attribute in (("areas", "area"), ("competencies", "primary_competency")):
        entries = content.get(key, [])
        if not isinstance(entries, list):
            r.problem(f"content.{key}", "must be an array of tables ([[content." + key + "]])")
            continue
        for n, entry in enumerate(entries):
            path = _join(f"content.{key}", n)
            if not isinstance(entry, dict):
                r.problem(path, "must be a table")
                continue
            r.unknown(entry, {"code", "label", "count", "min", "max"}, path)
            code = r.get(entry, "code", "str", path)
            if code is None:
                r.problem(_join(path, "code"), "is required")
                continue
            lower, upper = _bounds(r, entry, path)
            counts.append(CountRule(id=f"{key[:-1] if key == 'areas' else 'competency'}:{code}",
                                    attribute=attribute, values=(code,), lower=lower, upper=upper,
                                    label=r.get(entry, "label", "str", path, "") or code))

    rules = r.table(data, "rules", "")
    r.unknown(rules, {"enemies", "max_overlap", "order", "order_seed", "key_balance", "cognitive_levels",
                      "count", "table", "max_shared_with_recent", "recent_forms"}, "rules")
    for key, attribute, label in (("key_balance", "key", "key {}"),
                                  ("cognitive_levels", "cognitive_level", "cognitive level {}")):
        for value, rng in r.table(rules, key, "rules").items():
            rng = r.get({value: rng}, value, "range", f"rules.{key}")
            if rng is not None:
                counts.append(CountRule(id=f"{attribute}:{value}", attribute=attribute, values=(value,),
                                        lower=int(rng[0]), upper=int(rng[1]), label=label.format(value)))
    generic = rules.get("count", [])
    if not isinstance(generic, list):
        r.problem("rules.count", "must be an array of tables ([[rules.count]])")
        generic = []
    for n, entry in enumerate(generic):
        path = _join("rules.count", n)
        if not isinstance(entry, dict):
            r.problem(path, "must be a table")
            continue
        r.unknown(entry, {"id", "attribute", "values", "count", "min", "max", "label", "on"}, path)
        attribute, values = r.get(entry, "attribute", "str", path), r.get(entry, "values", "strs", path)
        if attribute is None or values is None:
            r.problem(path, "needs attribute and values")
            continue
        lower, upper = _bounds(r, entry, path)
        counts.append(CountRule(id=r.get(entry, "id", "str", path, f"count:{n + 1}"), attribute=attribute,
                                values=values, lower=lower, upper=upper, label=r.get(entry, "label", "str", path, ""),
                                on=r.get(entry, "on", "bool", path, True)))

    means: list[MeanRule] = []
    bounds: list[ItemBoundRule] = []
    classical = r.table(data, "classical", "")
    r.unknown(classical, {"mean_p", "min_point_biserial"}, "classical")
    mean_p = r.get(classical, "mean_p", "range", "classical")
    if mean_p is not None:
        means.append(MeanRule(id="mean_p", attribute="p_value", lower=float(mean_p[0]), upper=float(mean_p[1]),
                              label="mean P"))
    min_rpbis = r.get(classical, "min_point_biserial", "float", "classical")
    if min_rpbis is not None:
        bounds.append(ItemBoundRule(id="min_point_biserial", attribute="point_biserial", lower=min_rpbis,
                                    label="minimum point-biserial"))

    information = characteristic = None
    targets = r.table(data, "targets", "")
    r.unknown(targets, {"theta", "reference", "information", "characteristic"}, "targets")
    theta = r.get(targets, "theta", "floats", "targets", (-1.0, 0.0, 1.0))
    if "information" in targets:
        t = r.table(targets, "information", "targets")
        r.unknown(t, {"theta", "mode", "values", "tolerance"}, "targets.information")
        information = InformationTarget(
            theta=r.get(t, "theta", "floats", "targets.information", theta),
            mode=r.get(t, "mode", "str", "targets.information", "target"),
            values=r.get(t, "values", "floats", "targets.information", ()),
            tolerance=r.get(t, "tolerance", "float", "targets.information", 0.05),
        )
    if "characteristic" in targets:
        t = r.table(targets, "characteristic", "targets")
        r.unknown(t, {"theta", "values", "tolerance"}, "targets.characteristic")
        characteristic = CharacteristicTarget(
            theta=r.get(t, "theta", "floats", "targets.characteristic", theta),
            values=r.get(t, "values", "floats", "targets.characteristic", ()),
            tolerance=r.get(t, "tolerance", "float", "targets.characteristic", 1.0),
        )

    an = r.table(data, "anchor", "")
    r.unknown(an, {"reference", "min_items", "keep_positions", "shared_within_run"}, "anchor")
    anchor = Anchor(reference=r.get(an, "reference", "str", "anchor", ""),
                    min_items=r.get(an, "min_items", "int", "anchor", 0),
                    keep_positions=r.get(an, "keep_positions", "bool", "anchor", True),
                    shared_within_run=r.get(an, "shared_within_run", "bool", "anchor", False))

    bp = Blueprint(
        exam=exam, eligibility=eligibility, counts=tuple(counts), means=tuple(means), item_bounds=tuple(bounds),
        enemies=r.get(rules, "enemies", "bool", "rules", True),
        max_overlap=r.get(rules, "max_overlap", "int", "rules", None),
        max_shared_with_recent=r.get(rules, "max_shared_with_recent", "int", "rules", None),
        recent_forms=r.get(rules, "recent_forms", "int", "rules", 1),
        anchor=anchor,
        order=r.get(rules, "order", "str", "rules", "area"),
        order_seed=r.get(rules, "order_seed", "int", "rules", None),
        information=information, characteristic=characteristic,
        target_reference=r.get(targets, "reference", "str", "targets", "pool"), source=file,
    )
    problems = list(r.problems)
    table = r.get(rules, "table", "str", "rules")
    if table is not None:
        table_path = base_dir / table
        if not table_path.exists():
            problems.append(Problem(f"rules.table: constraints table {table!r} not found", file=file))
        else:
            bp, table_problems = _apply_table(bp, table_path, standalone=False)
            problems += table_problems
    problems += [Problem(p.message, p.file or file, p.row, p.column) for p in validate_blueprint(bp)]
    if problems:
        raise InputError(problems)
    return bp


# ---- constraints tables ----------------------------------------------------------------------------------------


def read_constraints_table(path: Path) -> pd.DataFrame:
    """The table as text cells (blank = ''), columns lower-cased and stripped."""
    if path.suffix.lower() == ".xlsx":
        frame = pd.read_excel(path, dtype=str, keep_default_na=False)
    else:
        frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    frame.columns = [str(c).strip().lower() for c in frame.columns]
    return frame.map(lambda v: str(v).strip())


def _apply_table(bp: Blueprint, path: Path, standalone: bool) -> tuple[Blueprint, list[Problem]]:
    """Add the table's rules to ``bp``. Returns the new blueprint and every problem found in the table."""
    file = str(path)
    problems: list[Problem] = []
    try:
        frame = read_constraints_table(path)
    except Exception as err:  # unreadable file: report, don't crash
        return bp, [Problem(f"cannot read constraints table: {err}", file=file)]
    missing = [c for c in TABLE_COLUMNS if c not in frame.columns]
    if missing:
        return bp, [Problem(f"missing column(s): {', '.join(missing)}", file=file)]
    counts, means, bounds = list(bp.counts), list(bp.means), list(bp.item_bounds)
    exam, eligibility = bp.exam, bp.eligibility
    enemies, overlap = bp.enemies, bp.max_overlap
    seen: set[str] = set()
    length_given = False
    for n, row in enumerate(frame.to_dict("records")):
        line = n + 2  # the header is spreadsheet row 1

        def bad(column: str, message: str) -> None:
            problems.append(Problem(message, file=file, row=line, column=column))

        rid, kind, attribute = row["id"], row["type"].lower(), row["attribute"]
        values = tuple(v.strip() for v in row["values"].replace(",", ";").split(";") if v.strip())
        if not rid:
            bad("id", "every rule needs an id")
        elif rid in seen:
            bad("id", f"rule id {rid!r} is used twice")
        seen.add(rid)
        on_text = row["on"].lower()
        if on_text not in _ON | _OFF:
            bad("on", f"must be on or off, not {row['on']!r}")
        on = on_text not in _OFF
        lower, upper = _number(row["lower"], "lower", bad), _number(row["upper"], "upper", bad)
        if kind not in TABLE_TYPES:
            bad("type", f"unknown rule type {row['type']!r} (expected one of: {', '.join(TABLE_TYPES)})")
            continue
        if kind == "count":
            if not attribute or not values:
                bad("values" if attribute else "attribute", "a count rule needs an attribute and values")
                continue
            if lower is None and upper is None:
                bad("lower", "a count rule needs a lower or an upper bound")
            counts.append(CountRule(id=rid, attribute=attribute, values=values,
                                    lower=_whole(lower, "lower", bad), upper=_whole(upper, "upper", bad),
                                    label=rid, on=on))
        elif kind in ("mean", "item"):
            if not attribute:
                bad("attribute", f"a {kind} rule needs an attribute")
                continue
            if lower is None and upper is None:
                bad("lower", f"a {kind} rule needs a lower or an upper bound")
            cls, target = (MeanRule, means) if kind == "mean" else (ItemBoundRule, bounds)
            target.append(cls(id=rid, attribute=attribute, lower=lower, upper=upper, label=rid, on=on))
        elif kind == "enemies":
            enemies = on
        elif kind == "overlap":
            if on:
                if upper is None:
                    bad("upper", "an overlap rule needs upper: the most items two new forms may share")
                overlap = _whole(upper, "upper", bad)
        elif kind in ("length", "pretest", "eligible"):
            if not standalone:
                bad("type", f"set {kind} in the blueprint TOML, not in an included table")
                continue
            if kind == "eligible":
                if attribute == "status":
                    eligibility = replace(eligibility, scored_statuses=values)
                elif attribute == "language":
                    eligibility = replace(eligibility, reviewed_languages=values)
                    exam = replace(exam, languages=values)
                else:
                    bad("attribute", "an eligible rule's attribute is status or language")
                continue
            slots = _whole(lower if lower is not None else upper, "lower", bad)
            if slots is None:
                bad("lower", f"a {kind} rule needs the number of slots in lower")
                continue
            if kind == "length":
                length_given = True
                exam = Exam(exam.name, slots, exam.pretest_slots, exam.languages, exam.framework)
            else:
                exam = Exam(exam.name, exam.length, slots, exam.languages, exam.framework)
    if standalone and not length_given:
        problems.append(Problem("the table needs a 'length' row giving the number of scored items", file=file))
    new = replace(bp, exam=exam, eligibility=eligibility, counts=tuple(counts), means=tuple(means),
                  item_bounds=tuple(bounds), enemies=enemies, max_overlap=overlap, source=bp.source or file)
    return new, problems


def _number(text: str, column: str, bad) -> float | None:
    if text == "":
        return None
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not math.isfinite(value):
        bad(column, f"must be a number, not {text!r}")
        return None
    return value


def _whole(value: float | None, column: str, bad) -> int | None:
    if value is None:
        return None
    if value != int(value):
        bad(column, f"must be a whole number, not {value:g}")
    return int(value)
