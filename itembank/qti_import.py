"""Reading QTI 2.1 single-choice items (a content package .zip) into the item wide layout.

:func:`package_table` turns a package into wide-layout rows that ``importing.parse_items`` then validates
like any other file, so a QTI import obeys every rule of the bank (lifecycle, frozen content, lint). Items are
paired across languages by identifier (the manifest's LOM identifier, else the ``assessmentItem``'s), one
file per language (``xml:lang``). Metadata comes from the manifest as ``qti_export`` writes it (competencies,
cognitive level, status, keywords); for an item already in the bank, what the package lacks (another
language, the competency) is taken from its current version, so a Spanish-only package adds or revises the
Spanish text of items the bank has.

What certbank cannot hold is never dropped silently: every other interaction, a multiple-response or
shuffled choice, custom response processing, feedback, templates, images or any unknown element is one
problem naming the file and the element's path, and nothing is imported.
"""
from __future__ import annotations

import zipfile
from pathlib import Path, PurePosixPath
from xml.etree import ElementTree as ET

from certbank_core.errors import InputError, Problem
from itembank.layout import BASE_COLUMNS, language_columns
from itembank.model import LIST_SEPARATOR, OPTION_LABELS
from itembank.qti_export import (
    COMPETENCY_SOURCE, CP_NS, LEVEL_SOURCE, MD_NS, QTI_NS, SECONDARY_SOURCE, STATUS_SOURCE, XML_LANG, q,
)

#: Elements of an item we read; text-level XHTML inside the stem or a choice is read as its text.
_STRUCTURE = {"assessmentItem", "responseDeclaration", "correctResponse", "value", "outcomeDeclaration",
              "defaultValue", "itemBody", "choiceInteraction", "prompt", "simpleChoice", "responseProcessing"}
_TEXT = {"p", "div", "span", "br", "em", "strong", "b", "i", "u", "sub", "sup", "blockquote", "q", "abbr"}
_BLOCK = {"p", "div", "blockquote", "br"}


def _local(tag: str) -> tuple[str, str]:
    if tag.startswith("{"):
        ns, _, name = tag[1:].partition("}")
        return ns, name
    return "", tag


def _text(el) -> str:
    """The text of an element and its text-level children, block elements on their own lines."""
    parts = [el.text or ""]
    for child in el:
        name = _local(child.tag)[1]
        inner = _text(child)
        parts.append(("\n" + inner if name in _BLOCK and "".join(parts).strip() else inner))
        parts.append(child.tail or "")
    return "".join(parts).strip()


def _walk(el, path: str, where: str, problems: list[Problem]) -> None:
    """Report every element certbank does not support, by its path."""
    for child in el:
        ns, name = _local(child.tag)
        here = f"{path}/{name}"
        if ns != QTI_NS or (name not in _STRUCTURE and name not in _TEXT):
            problems.append(Problem(f"element {here} is not supported (certbank imports single-choice items: "
                                    "one choiceInteraction with text choices)", where))
            continue
        _walk(child, here, where, problems)


def parse_item(data: bytes, where: str) -> tuple[dict, list[Problem]]:
    """One assessmentItem → {identifier, lang, stem, options, key}, with every problem found."""
    problems: list[Problem] = []
    try:
        root = ET.fromstring(data)
    except ET.ParseError as err:
        return {}, [Problem(f"the file is not well-formed XML ({err})", where)]
    ns, name = _local(root.tag)
    if name != "assessmentItem" or ns != QTI_NS:
        return {}, [Problem(f"the root element is {{{ns}}}{name}, not a QTI 2.1 assessmentItem ({QTI_NS})", where)]
    _walk(root, "assessmentItem", where, problems)
    out = {"identifier": root.get("identifier", ""), "lang": root.get(XML_LANG, "")}
    interactions = root.findall(f".//{q(QTI_NS, 'choiceInteraction')}")
    if len(interactions) != 1:
        problems.append(Problem(f"element assessmentItem/itemBody has {len(interactions)} choiceInteraction "
                                "elements; certbank imports items with exactly one", where))
        return out, problems
    ci = interactions[0]
    if ci.get("maxChoices", "1") != "1":
        problems.append(Problem(f"element choiceInteraction has maxChoices={ci.get('maxChoices')!r}: multiple "
                                "response is not supported (single choice only)", where))
    if ci.get("shuffle", "false") == "true":
        problems.append(Problem("element choiceInteraction has shuffle='true': certbank keeps options in a fixed "
                                "order shared by every language (set shuffle='false')", where))
    choices = ci.findall(q(QTI_NS, "simpleChoice"))
    if not 2 <= len(choices) <= len(OPTION_LABELS):
        problems.append(Problem(f"element choiceInteraction has {len(choices)} simpleChoice elements "
                                f"(2 to {len(OPTION_LABELS)} are supported)", where))
    ids = [c.get("identifier", "") for c in choices]
    body = root.find(q(QTI_NS, "itemBody"))
    before = []
    for el in body if body is not None else []:
        if el is ci or ci in list(el.iter()):
            break
        before.append(_text(el))
    prompt = ci.find(q(QTI_NS, "prompt"))
    out["stem"] = "\n".join(p for p in [*before, _text(prompt) if prompt is not None else ""] if p)
    out["options"] = [_text(c) for c in choices][: len(OPTION_LABELS)]
    decl = [d for d in root.findall(q(QTI_NS, "responseDeclaration"))
            if d.get("identifier") == ci.get("responseIdentifier")]
    values = [v.text or "" for v in decl[0].findall(f"{q(QTI_NS, 'correctResponse')}/{q(QTI_NS, 'value')}")] \
        if decl else []
    if not decl:
        problems.append(Problem(f"element responseDeclaration {ci.get('responseIdentifier')!r} is missing", where))
    elif decl[0].get("cardinality") != "single":
        problems.append(Problem(f"element responseDeclaration has cardinality {decl[0].get('cardinality')!r}; "
                                "only 'single' is supported", where))
    elif len(values) != 1 or values[0].strip() not in ids:
        problems.append(Problem("element responseDeclaration/correctResponse must hold one value naming a "
                                f"simpleChoice identifier (found {values})", where))
    else:
        out["key"] = OPTION_LABELS[ids.index(values[0].strip())]
    rp = root.find(q(QTI_NS, "responseProcessing"))
    if rp is not None and (len(rp) or not (rp.get("template") or "").endswith("match_correct")):
        problems.append(Problem(f"element responseProcessing (template {rp.get('template')!r}) is not supported: "
                                "use the match_correct template", where))
    return out, problems


def _manifest_metadata(z: zipfile.ZipFile, name: str, problems: list[Problem]) -> tuple[list[str], dict]:
    """(item hrefs in manifest order, href → metadata) from imsmanifest.xml; every .xml when there is none."""
    if "imsmanifest.xml" not in z.namelist():
        return sorted(n for n in z.namelist() if n.lower().endswith(".xml")), {}
    try:
        root = ET.fromstring(z.read("imsmanifest.xml"))
    except ET.ParseError as err:
        problems.append(Problem(f"the file is not well-formed XML ({err})", f"{name}/imsmanifest.xml"))
        return [], {}
    hrefs, meta = [], {}
    for res in root.iter(q(CP_NS, "resource")):
        if not (res.get("type") or "").startswith("imsqti_item_xmlv2p"):
            continue
        href = str(PurePosixPath(res.get("href") or ""))
        hrefs.append(href)
        m: dict = {}
        ident = res.find(f".//{q(MD_NS, 'general')}/{q(MD_NS, 'identifier')}")
        if ident is not None and ident.text:
            m["item_id"] = ident.text.strip()
        lang = res.find(f".//{q(MD_NS, 'general')}/{q(MD_NS, 'language')}")
        if lang is not None and lang.text:
            m["lang"] = lang.text.strip()
        m["keywords"] = [ls.text or "" for ls in res.iterfind(
            f".//{q(MD_NS, 'general')}/{q(MD_NS, 'keyword')}/{q(MD_NS, 'langstring')}")]
        status = res.find(f".//{q(MD_NS, 'lifecycle')}/{q(MD_NS, 'status')}")
        if status is not None and _ls(status, "source") == STATUS_SOURCE:
            m["status"] = _ls(status, "value")
        for tp in res.iterfind(f".//{q(MD_NS, 'taxonpath')}"):
            codes = [t.text.strip() for t in tp.iterfind(f"{q(MD_NS, 'taxon')}/{q(MD_NS, 'id')}") if t.text]
            m.setdefault(_ls(tp, "source"), []).extend(codes)
        meta[href] = m
    return hrefs, meta


def _ls(el, tag: str) -> str:
    found = el.find(f"{q(MD_NS, tag)}/{q(MD_NS, 'langstring')}")
    return (found.text or "").strip() if found is not None else ""


def read_package(path: str | Path, problems: list[Problem] | None = None) -> list[tuple[None, dict]]:
    """The items of a package as wide-layout rows (row number None), paired by identifier. Raises one
    InputError with every problem unless ``problems`` is given to collect them."""
    path = Path(path)
    name = str(path)
    own = problems is None
    problems = [] if own else problems
    if not path.is_file():
        raise InputError(Problem("the file does not exist or cannot be read", name))
    try:
        z = zipfile.ZipFile(path)
    except zipfile.BadZipFile:
        raise InputError(Problem("the file is not a .zip content package", name)) from None
    rows: dict[str, dict] = {}
    with z:
        hrefs, meta = _manifest_metadata(z, name, problems)
        for href in hrefs:
            where = f"{name}/{href}"
            if href not in z.namelist():
                problems.append(Problem("the manifest lists this file but the package does not hold it", where))
                continue
            item, found = parse_item(z.read(href), where)
            if not item and not found:
                continue
            problems.extend(found)
            m = meta.get(href, {})
            lang = item.get("lang") or m.get("lang", "")
            item_id = m.get("item_id") or item.get("identifier", "")
            if not lang:
                problems.append(Problem("element assessmentItem has no xml:lang (and the manifest no language)", where))
            if not item_id:
                problems.append(Problem("element assessmentItem has no identifier", where))
            if found or not lang or not item_id:
                continue
            row = rows.setdefault(item_id, {"item_id": item_id, "_where": where})
            if f"stem_{lang}" in row:
                problems.append(Problem(f"item {item_id} is in {lang!r} twice (also {row['_files'][lang]})", where))
                continue
            row.setdefault("_files", {})[lang] = href
            row[f"stem_{lang}"] = item["stem"]
            for label, option in zip(OPTION_LABELS, item["options"]):
                row[f"option_{label.lower()}_{lang}"] = option
            if row.setdefault("key", item["key"]) != item["key"]:
                problems.append(Problem(f"item {item_id}: the key is {item['key']} in {lang!r} but {row['key']} in "
                                        "another language (the key is shared)", where))
            for col, value in (("primary_competency", (m.get(COMPETENCY_SOURCE) or [""])[0]),
                               ("secondary_competencies", LIST_SEPARATOR.join(m.get(SECONDARY_SOURCE, []))),
                               ("cognitive_level", (m.get(LEVEL_SOURCE) or [""])[0]),
                               ("status", m.get("status", "")), ("keywords", LIST_SEPARATOR.join(m.get("keywords", [])))):
                if value and not row.get(col):
                    row[col] = value
    if not rows and not problems:
        problems.append(Problem("the package holds no QTI assessmentItem", name))
    if own and problems:
        raise InputError(problems)
    return [(None, r) for r in rows.values()]


def package_table(path: str | Path, bank) -> tuple[list[str], list[tuple[None, dict]]]:
    """(header, rows) of a package for ``importing.parse_items``: every package problem at once, items paired
    by identifier and completed from the bank's current version when the bank has the item."""
    problems: list[Problem] = []
    rows = read_package(path, problems)
    known = bank.competency_codes()
    in_bank = {it.item_id: it for it in bank.items([r["item_id"] for _, r in rows])} if rows else {}
    langs = sorted({c[len("stem_"):] for _, r in rows for c in r if c.startswith("stem_")} |
                   {lang for it in in_bank.values() for lang in it.current.languages},
                   key=lambda lang: (lang != "en", lang))
    from itembank.exporting import item_row

    table = []
    for _, r in rows:
        where = r.pop("_where")
        r.pop("_files", None)
        if r["item_id"] in in_bank:
            current = item_row(in_bank[r["item_id"]], langs)
            current["status"] = ""  # no status in the package means no change
            for lang in langs:  # a language the package brings replaces the bank's stem and options in it,
                if f"stem_{lang}" in r:  # whole; what QTI does not carry (rationale, translation status) stays
                    for col in language_columns(lang):
                        if col.startswith(("stem_", "option_")):
                            current[col] = ""
            current.update({k: v for k, v in r.items() if v})
            r = current
        code = r.get("primary_competency", "")
        if not code:
            problems.append(Problem(f"item {r['item_id']}: the manifest gives no competency (a LOM classification "
                                    f"with source '{COMPETENCY_SOURCE}') and the bank does not hold the item", where))
        elif code not in known:
            problems.append(Problem(f"item {r['item_id']}: unknown competency {code!r} (import its framework first)",
                                    where))
        if "stem_en" not in r or not r.get("stem_en"):
            problems.append(Problem(f"item {r['item_id']} has no English text in the package or the bank", where))
        r.setdefault("cognitive_level", "recall")
        table.append((None, r))
    if problems:
        raise InputError(problems)
    header = [*BASE_COLUMNS, *(c for lang in langs for c in language_columns(lang))]
    return header, table
