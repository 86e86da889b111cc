"""Reading items (wide layout: .xlsx, .csv, .json) and frameworks (.toml, .csv) into the bank.

Every reader validates the WHOLE file first and collects every problem (file, row, column) into one
:class:`InputError`; only a file with no problems reaches the bank, in one transaction. So a bad file
leaves the bank byte-identical.

Row numbers are what a spreadsheet user sees: the header is row 1, the first item row 2. In a .json file
(a list of row objects) the first object is row 2 too, so a message means the same thing in every format.
"""
from __future__ import annotations

import csv
import json
import re
import tomllib
import zipfile
from pathlib import Path

from certbank_core.errors import InputError, Problem
from certbank_core.text import json_value_problem, text_problem
from itembank.layout import (
    BASE_COLUMNS, ITEMS_SHEET, REQUIRED_COLUMNS, language_columns, split_list,
)
from itembank.model import (
    OPTION_LABELS, Area, CognitiveLevel, Competency, CrosswalkLink, Framework, ItemDraft, ItemStatus, ItemText,
    ItemVersion, TranslationStatus, can_transition,
)

ITEM_ID_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]*$")
_LANG_COLUMN = re.compile(r"^(stem|option_[a-f]|rationale|translation_status)_([a-z]{2,3}(?:-[a-z0-9]+)?)$")
#: Longest CSV field read at all; longer text is refused by ``text_problem`` with its row and column.
CSV_FIELD_LIMIT = 1 << 26
FRAMEWORK_CSV_COLUMNS = ("framework_code", "framework_name", "version", "area_code", "area_title",
                         "competency_code", "competency_title")


# ---- reading tables -----------------------------------------------------------------------------------------


def read_rows(path: str | Path) -> tuple[list[str], list[tuple[int, dict[str, str]]]]:
    """Read a wide-layout file into (header, [(row number, {column: text})]); InputError if unreadable."""
    path = Path(path)
    name = str(path)
    if not path.is_file():
        raise InputError(Problem("the file does not exist or cannot be read", name))
    suffix = path.suffix.lower()
    try:
        if suffix == ".csv":
            return _read_csv(path)
        if suffix == ".json":
            return _read_json(path)
        if suffix == ".xlsx":
            return _read_xlsx(path)
    except InputError:
        raise
    except RecursionError:
        raise InputError(Problem(f"the file cannot be read as {suffix[1:]}: it is nested too deeply", name)) from None
    except UnicodeDecodeError:
        raise InputError(Problem(f"the file cannot be read as {suffix[1:]}: it is not UTF-8 text (in Excel, save "
                                 "as 'CSV UTF-8')", name)) from None
    except (csv.Error, json.JSONDecodeError, zipfile.BadZipFile, KeyError, OSError, ValueError,
            SyntaxError) as err:  # a corrupt xlsx part is an XML ParseError, a SyntaxError

        raise InputError(Problem(f"the file cannot be read as {suffix[1:]} ({err})", name)) from None
    raise InputError(Problem(f"unsupported file type {suffix!r}; use .xlsx, .csv or .json", name))


def _cell_text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, list):
        return "; ".join(_cell_text(v) for v in value)
    return str(value)


def _csv_delimiter(first_line: str) -> str:
    """',' unless the header line holds more ';' or tabs (Excel writes ';' where the decimal mark is ',')."""
    return max((",", ";", "\t"), key=lambda d: (first_line.count(d), d == ","))


def _read_csv(path: Path):
    csv.field_size_limit(max(csv.field_size_limit(), CSV_FIELD_LIMIT))
    with open(path, newline="", encoding="utf-8-sig") as fh:
        sep = _csv_delimiter(fh.readline())
        fh.seek(0)
        reader = csv.reader(fh, delimiter=sep)
        header = [h.strip() for h in next(reader, [])]
        rows, long_rows = [], []
        for n, rec in _records(reader, path):
            if any(c.strip() for c in rec[len(header):]):  # text past the last column would be lost
                long_rows.append(Problem(f"the row has {len(rec)} cells but the header has {len(header)} "
                                         "(quote text that holds commas)", str(path), n))
            if any(c.strip() for c in rec):
                rows.append((n, dict(zip(header, rec))))
    if long_rows:
        raise InputError(long_rows)
    return header, rows


def _records(reader, path: Path):
    """(row number, cells) of every record after the header; a broken record names its row."""
    n = 1
    while True:
        n += 1
        try:
            rec = next(reader)
        except StopIteration:
            return
        except csv.Error as err:
            raise InputError(Problem(f"the row cannot be read as csv ({err})", str(path), n)) from None
        yield n, rec


def _json_row(path: Path, n: int, record: dict, problems: list) -> dict[str, str]:
    for key, value in record.items():
        wrong = json_value_problem(value)
        if wrong:
            problems.append(Problem(wrong, str(path), n, key))
    return {k: _cell_text(v) for k, v in record.items()}


def _read_json(path: Path):
    data = json.loads(path.read_text(encoding="utf-8-sig"))
    if isinstance(data, dict) and isinstance(data.get("items"), list):
        data = data["items"]
    if not isinstance(data, list) or not all(isinstance(r, dict) for r in data):
        raise InputError(Problem("a .json item file must be a list of row objects", str(path)))
    header: list[str] = []
    for r in data:
        header.extend(k for k in r if k not in header)
    problems: list[Problem] = []
    rows = [(n, _json_row(path, n, r, problems)) for n, r in enumerate(data, start=2)]
    if problems:
        raise InputError(problems)
    return header, rows


def _read_xlsx(path: Path):
    import openpyxl

    wb = openpyxl.load_workbook(path, read_only=True, data_only=True)
    try:
        sheet = next((n for n in wb.sheetnames if n.strip().lower() == ITEMS_SHEET), None)
        if sheet is None:
            raise InputError(Problem(f"the workbook has no sheet named '{ITEMS_SHEET}' (it has: "
                                     f"{', '.join(wb.sheetnames)})", str(path)))
        it = wb[sheet].iter_rows(values_only=True)
        header = [_cell_text(h).strip() for h in next(it, ())]
        while header and not header[-1]:
            header.pop()
        rows = []
        for n, rec in enumerate(it, start=2):
            values = [_cell_text(v) for v in rec[: len(header)]]
            if any(v.strip() for v in values):
                rows.append((n, dict(zip(header, values))))
    finally:
        wb.close()
    return header, rows


# ---- validating items ---------------------------------------------------------------------------------------


def parse_items(path: str | Path, bank, other_ids: frozenset[str] = frozenset(), table=None) -> list[ItemDraft]:
    """Read and validate an item file against ``bank``; return drafts or raise one InputError with all problems.

    ``other_ids``: ids of items arriving with this file from other files (they may be named as enemies).
    ``table``: (header, rows) already read from ``path`` (a QTI package read by ``qti_import``).
    """
    name = str(path)
    header, rows = table if table is not None else read_rows(path)
    problems: list[Problem] = []
    languages: list[str] = []
    for col in sorted({c for c in header if header.count(c) > 1}):
        problems.append(Problem("the column appears more than once", name, 1, col))
    for col in header:
        if not col:
            continue  # an unnamed column (e.g. a trailing comma) holds nothing we read
        m = _LANG_COLUMN.match(col)
        if m and m.group(2) not in languages:
            languages.append(m.group(2))
        elif not m and col not in BASE_COLUMNS:
            problems.append(Problem("unknown column (check its spelling against `certbank items template`)",
                                    name, 1, col))
    for col in REQUIRED_COLUMNS:
        if col not in header:
            problems.append(Problem("required column is missing", name, 1, col))
    if not rows:
        problems.append(Problem("the file has no item rows", name))
    if problems:
        raise InputError(problems)
    languages.sort(key=lambda lang: (lang != "en", lang))
    known = bank.competency_codes()
    existing = {it.item_id: it.status for it in bank.items()}
    file_ids = {r.get("item_id", "").strip() for _, r in rows} | set(other_ids)
    first_row: dict[str, int] = {}
    drafts = []
    for n, row in rows:
        draft = _parse_row(name, n, row, languages, known, existing, file_ids, first_row, problems)
        if draft is not None:
            drafts.append(draft)
    _check_frozen_content(name, drafts, bank, existing, first_row, problems)
    if problems:
        raise InputError(problems)
    return drafts


def _check_frozen_content(name, drafts, bank, existing, first_row, problems) -> None:
    """A pretest or operational item's content may not change (Bank.save_items refuses it too); say so per row."""
    from itembank.items_store import FROZEN_CONTENT, frozen_content_message, normalize_version

    frozen = [d for d in drafts if existing.get(d.version.item_id) in FROZEN_CONTENT]
    in_bank = {it.item_id: it.current for it in bank.items([d.version.item_id for d in frozen])} if frozen else {}
    for d in frozen:
        item_id = d.version.item_id
        current = in_bank[item_id]
        if normalize_version(d.version).content_hash() != current.content_hash():
            problems.append(Problem(frozen_content_message(item_id, existing[item_id], current.version), name,
                                    first_row.get(item_id), "item_id"))


def _parse_row(name, n, row, languages, known, existing, file_ids, first_row, problems) -> ItemDraft | None:
    before = len(problems)

    def bad(column, message):
        problems.append(Problem(message, name, n, column))

    def get(column):
        value = row.get(column, "") or ""
        wrong = text_problem(value)
        if wrong:
            bad(column, wrong)
        return value.strip()

    item_id = get("item_id")
    if not item_id:
        bad("item_id", "item_id is empty")
    elif not ITEM_ID_PATTERN.match(item_id):
        bad("item_id", f"item_id {item_id!r} may hold only letters, digits, '.', '_' and '-'")
    elif item_id in first_row:
        bad("item_id", f"duplicate item id {item_id} (first on row {first_row[item_id]})")
    else:
        first_row[item_id] = n
    # A blank status keeps an existing item's status (the column is optional); a new item starts as a draft.
    status = existing[item_id] if not get("status") and item_id in existing else \
        _enum(ItemStatus, get("status") or "draft", "status", bad)
    if status is not None and item_id in existing and status != existing[item_id] \
            and not can_transition(existing[item_id], status):
        bad("status", f"item {item_id} is {existing[item_id].value} in the bank and cannot move to {status.value}")
    primary = get("primary_competency")
    if not primary:
        bad("primary_competency", "primary_competency is empty")
    elif primary not in known:
        bad("primary_competency", f"unknown competency {primary!r} (import its framework first)")
    secondary = split_list(get("secondary_competencies"))
    for code in secondary:
        if code not in known:
            bad("secondary_competencies", f"unknown competency {code!r}")
    level = _enum(CognitiveLevel, get("cognitive_level"), "cognitive_level", bad)
    enemies = split_list(get("enemies"))
    for e in enemies:
        if e == item_id:
            bad("enemies", "an item cannot be its own enemy")
        elif e not in file_ids and e not in existing:
            bad("enemies", f"enemy {e!r} is neither in this import nor in the bank")
    texts = []
    en_count = None
    for lang in languages:
        cols = language_columns(lang)
        values = {c: get(c) for c in cols}
        stem_col, rat_col, ts_col = f"stem_{lang}", f"rationale_{lang}", f"translation_status_{lang}"
        if lang != "en" and not any(v for c, v in values.items() if c != ts_col):
            continue  # no text in that language (a translation status alone does not make one)
        if not values[stem_col]:
            bad(stem_col, "empty stem")
        options = [values[f"option_{lab.lower()}_{lang}"] for lab in OPTION_LABELS]
        count = len(options) - next((i for i, o in enumerate(reversed(options)) if o), len(options))
        gaps = [OPTION_LABELS[i] for i in range(count) if not options[i]]
        if gaps:
            bad(f"option_{gaps[0].lower()}_{lang}", f"option {gaps[0]} is empty but a later option is filled")
        if count < 2:
            bad(f"option_{OPTION_LABELS[count].lower()}_{lang}", "an item needs at least 2 options")
        if lang == "en":
            en_count = count
        elif en_count is not None and count != en_count:
            first_off = OPTION_LABELS[min(count, en_count)].lower()  # first option present in one only
            bad(f"option_{first_off}_{lang}", f"{count} options in {lang} but {en_count} in en (must be the same)")
        ts = _enum(TranslationStatus, values[ts_col] or "draft", ts_col, bad)
        texts.append(ItemText(lang, values[stem_col], tuple(options[:count]), values[rat_col],
                              ts or TranslationStatus.DRAFT))
    key = get("key").upper()
    if not key:
        bad("key", "the key is missing")
    elif en_count is not None and key not in OPTION_LABELS[:max(en_count, 0)]:
        labels = ", ".join(OPTION_LABELS[:en_count]) if en_count else "none"
        bad("key", f"key {key!r} is not among the options ({labels})")
    if len(problems) > before:
        return None
    version = ItemVersion(item_id=item_id, version=0, key=key, primary_competency=primary, texts=tuple(texts),
                          secondary_competencies=tuple(secondary), cognitive_level=level, author=get("author"),
                          source=get("source"), keywords=tuple(split_list(get("keywords"))))
    return ItemDraft(version=version, status=status, enemies=tuple(enemies))


def _enum(enum, value, column, bad):
    try:
        return enum(value.strip().lower())
    except ValueError:
        allowed = ", ".join(e.value for e in enum)
        bad(column, f"{value!r} is not allowed; use one of {allowed}" if value else f"empty; use one of {allowed}")
        return None


def import_items(bank, path: str | Path, lint_config=None) -> dict[str, list[str]]:
    """Validate the whole file, then add items / new versions in one transaction (see Bank.save_items).
    Blocking item checks refuse it too (:func:`import_item_file`, which also returns the warnings)."""
    return import_item_file(bank, path, lint_config)[0]


def import_item_file(bank, path: str | Path, lint_config=None) -> tuple[dict[str, list[str]], list[str]]:
    """What ``certbank items import`` runs: validate the whole file, lint it (``itembank.lint``: blocking
    findings refuse the import, all listed at once), then save it in one transaction. A .zip is a QTI 2.1
    package (``itembank.qti_import``). Returns (Bank.save_items outcome, warnings as printable lines)."""
    from itembank.lint import check_import, load_config

    path = Path(path)
    config = load_config(lint_config)
    if path.suffix.lower() == ".zip":
        from itembank.qti_import import package_table

        table = package_table(path, bank)
    else:
        table = read_rows(path)
    drafts = parse_items(path, bank, table=table)
    row_of = {(r.get("item_id") or "").strip(): n for n, r in table[1]}
    warnings = check_import(drafts, str(path), row_of, config)
    return bank.save_items(drafts, reason=f"import {path.name}"), warnings


# ---- frameworks and crosswalks ------------------------------------------------------------------------------


def read_framework_file(path: str | Path) -> tuple[list[Framework], list[CrosswalkLink]]:
    """Read a framework file: TOML ([framework] + [[areas]], and/or [[crosswalk]]) or CSV (one row per
    competency, columns :data:`FRAMEWORK_CSV_COLUMNS`). Collects every problem before raising."""
    path = Path(path)
    name = str(path)
    if not path.is_file():
        raise InputError(Problem("the file does not exist or cannot be read", name))
    if path.suffix.lower() == ".csv":
        return _framework_csv(path), []
    if path.suffix.lower() != ".toml":
        raise InputError(Problem("a framework file must be .toml or .csv", name))
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as err:
        raise InputError(Problem(f"the file is not valid TOML ({err})", name)) from None
    problems: list[Problem] = list(_toml_text_problems(data, name))
    frameworks = []
    shape = _toml_shape_problems(data, name)
    if shape:
        raise InputError(shape)
    if "framework" in data:
        fw = data["framework"]
        code = str(fw.get("code", "")).strip()
        for key in ("code", "name", "version"):
            if not str(fw.get(key, "")).strip():
                problems.append(Problem(f"[framework] needs a {key}", name, None, key))
        areas = []
        for i, a in enumerate(data.get("areas", []), start=1):
            if not a.get("code") or not a.get("title"):
                problems.append(Problem(f"area {i} needs a code and a title", name))
                continue
            comps = []
            for j, c in enumerate(a.get("competencies", []), start=1):
                if not c.get("code") or not c.get("title"):
                    problems.append(Problem(f"competency {j} of area {a['code']} needs a code and a title", name))
                    continue
                comps.append(Competency(str(c["code"]).strip(), str(c["title"]).strip(), a["code"], code))
            areas.append(Area(str(a["code"]).strip(), str(a["title"]).strip(), code, tuple(comps)))
        if not areas:
            problems.append(Problem("the framework has no [[areas]]", name))
        frameworks.append(Framework(code, str(fw.get("name", "")).strip(), str(fw.get("version", "")).strip(),
                                    tuple(areas)))
    links = []
    for i, link in enumerate(data.get("crosswalk", []), start=1):
        if not link.get("from") or not link.get("to"):
            problems.append(Problem(f"crosswalk entry {i} needs 'from' and 'to'", name))
            continue
        links.append(CrosswalkLink(str(link["from"]).strip(), str(link["to"]).strip(), str(link.get("note", ""))))
    if not frameworks and not links:
        problems.append(Problem("the file has neither a [framework] table nor [[crosswalk]] entries", name))
    if problems:
        raise InputError(problems)
    return frameworks, links


def _toml_text_problems(data, name: str, where: str = ""):
    """Every string of a TOML framework file checked by the one text rule (``text_problem``), named by its key
    path (e.g. ``areas[2].competencies[1].title``) as the column."""
    if isinstance(data, dict):
        for key, value in data.items():
            yield from _toml_text_problems(value, name, f"{where}.{key}" if where else str(key))
    elif isinstance(data, list):
        for i, value in enumerate(data, start=1):
            yield from _toml_text_problems(value, name, f"{where}[{i}]")
    elif isinstance(data, str) and text_problem(data):
        yield Problem(text_problem(data), name, None, where)


def _toml_shape_problems(data: dict, name: str) -> list[Problem]:
    """Tables written as plain values (``framework = "X"``, ``competencies = "..."``) named plainly."""
    def tables(value) -> bool:
        return isinstance(value, list) and all(isinstance(v, dict) for v in value)

    problems = []
    if "framework" in data and not isinstance(data["framework"], dict):
        problems.append(Problem("[framework] must be a table (code, name, version)", name))
    if "areas" in data and not tables(data["areas"]):
        problems.append(Problem("areas must be [[areas]] tables", name))
    elif "areas" in data:
        for i, a in enumerate(data["areas"], start=1):
            if "competencies" in a and not tables(a["competencies"]):
                problems.append(Problem(f"area {a.get('code', i)}: competencies must be [[areas.competencies]] "
                                        "tables", name))
    if "crosswalk" in data and not tables(data["crosswalk"]):
        problems.append(Problem("crosswalk must be [[crosswalk]] tables", name))
    return problems


def _framework_csv(path: Path) -> list[Framework]:
    name = str(path)
    try:
        header, rows = _read_csv(path)
    except (UnicodeDecodeError, csv.Error) as err:
        raise InputError(Problem(f"the file cannot be read as csv ({err})", name)) from None
    problems = [Problem("required column is missing", name, 1, c) for c in FRAMEWORK_CSV_COLUMNS if c not in header]
    if problems:
        raise InputError(problems)
    heads: dict[str, tuple[str, str]] = {}
    areas: dict[str, dict[str, list]] = {}
    area_titles: dict[str, str] = {}
    for n, r in rows:
        v = {c: (r.get(c) or "").strip() for c in FRAMEWORK_CSV_COLUMNS}
        wrong = [(c, text_problem(r.get(c) or "")) for c in FRAMEWORK_CSV_COLUMNS]
        problems.extend(Problem(message, name, n, c) for c, message in wrong if message)
        if any(message for _, message in wrong):
            continue
        missing = [c for c in FRAMEWORK_CSV_COLUMNS if not v[c]]
        for c in missing:
            problems.append(Problem("empty", name, n, c))
        if missing:
            continue
        fw = v["framework_code"]
        if heads.setdefault(fw, (v["framework_name"], v["version"])) != (v["framework_name"], v["version"]):
            problems.append(Problem(f"framework {fw} has another name or version on an earlier row", name, n,
                                    "framework_name"))
        area_titles.setdefault(v["area_code"], v["area_title"])
        areas.setdefault(fw, {}).setdefault(v["area_code"], []).append(
            Competency(v["competency_code"], v["competency_title"], v["area_code"], fw))
    if not rows:
        problems.append(Problem("the file has no rows", name))
    if problems:
        raise InputError(problems)
    return [Framework(fw, heads[fw][0], heads[fw][1],
                      tuple(Area(code, area_titles[code], fw, tuple(comps)) for code, comps in areas[fw].items()))
            for fw in heads]


def import_frameworks(bank, path: str | Path) -> dict:
    """Import frameworks and/or crosswalk links from one file, in one transaction."""
    frameworks, links = read_framework_file(path)
    with bank.transaction():
        summaries = [bank.save_framework(fw, source=str(path)) for fw in frameworks]
        n_links = bank.save_crosswalk(links, source=str(path)) if links else 0
    return {"frameworks": summaries, "crosswalk_links": n_links}
