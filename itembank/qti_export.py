"""Items as IMS QTI 2.1: one ``assessmentItem`` per item and language, packed in an IMS Content Package.

This is an item layout, so it lives beside the wide layout: :func:`item_xml` writes one version in one
language (single-choice ``choiceInteraction``, options in bank order and never shuffled, the key in
``correctResponse`` and scored by the standard ``match_correct`` template); :func:`manifest_xml` lists every
file with its metadata (IEEE LOM 1.2 as IMS publishes it: identifier, title, language, version, status,
keywords, competencies and cognitive level as classifications; QTI metadata: interaction type, tool).

The key travels only in the response declarations: no rationale, no modal feedback, no metadata field names
it, because a delivery vendor needs the key to score and nothing more (rationales stay in the bank).
Generation uses the standard library only (xml.etree); the tests validate the output against the IMS XSDs.
``workflows.assembly`` adds the ``assessmentTest`` of a form and its usage data (statistics).
"""
from __future__ import annotations

import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable
from xml.etree import ElementTree as ET

from certbank_core.errors import InputError, Problem
from certbank_core.files import atomic_write
from certbank_core import __version__
from itembank.model import OPTION_LABELS, Item, ItemStatus, ItemVersion

QTI_NS = "http://www.imsglobal.org/xsd/imsqti_v2p1"
CP_NS = "http://www.imsglobal.org/xsd/imscp_v1p1"
MD_NS = "http://www.imsglobal.org/xsd/imsmd_v1p2"
QMD_NS = "http://www.imsglobal.org/xsd/imsqti_metadata_v2p1"
USAGE_NS = "http://www.imsglobal.org/xsd/imsqti_usagedata_v2p1"
XSI_NS = "http://www.w3.org/2001/XMLSchema-instance"
XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"
MATCH_CORRECT = "http://www.imsglobal.org/question/qti_v2p1/rptemplates/match_correct"
ITEM_TYPE = "imsqti_item_xmlv2p1"
TEST_TYPE = "imsqti_test_xmlv2p1"
#: LOM sources of certbank's own vocabularies, so an import knows what a classification means.
COMPETENCY_SOURCE = "certbank competency"
SECONDARY_SOURCE = "certbank secondary competency"
LEVEL_SOURCE = "certbank cognitive level"
STATUS_SOURCE = "certbank status"
KEY_NOTE = ("The answer key is in each assessmentItem's responseDeclaration/correctResponse only; the package "
            "holds no rationale or feedback.")

for _prefix, _ns in (("", QTI_NS), ("imscp", CP_NS), ("imsmd", MD_NS), ("imsqti", QMD_NS), ("xsi", XSI_NS),
                     ("usage", USAGE_NS)):
    ET.register_namespace(_prefix, _ns)


def q(ns: str, tag: str) -> str:
    return f"{{{ns}}}{tag}"


def _sub(parent, ns, tag, text=None, **attrs):
    el = ET.SubElement(parent, q(ns, tag), {k: str(v) for k, v in attrs.items() if v is not None})
    if text is not None:
        el.text = str(text)
    return el


def item_href(item_id: str, lang: str) -> str:
    return f"items/{lang}/{item_id}.xml"


def item_xml(v: ItemVersion, lang: str) -> bytes:
    """One version in one language as a QTI 2.1 assessmentItem (UTF-8 bytes)."""
    t = v.text(lang)
    if t is None:
        raise InputError(Problem(f"item {v.item_id} has no text in {lang!r}"))
    root = ET.Element(q(QTI_NS, "assessmentItem"), {
        q(XSI_NS, "schemaLocation"): f"{QTI_NS} http://www.imsglobal.org/xsd/qti/qtiv2p1/imsqti_v2p1.xsd",
        "identifier": v.item_id, "title": f"{v.item_id} v{v.version}", XML_LANG: lang, "adaptive": "false",
        "timeDependent": "false", "toolName": "certbank", "toolVersion": __version__})
    rd = _sub(root, QTI_NS, "responseDeclaration", identifier="RESPONSE", cardinality="single",
              baseType="identifier")
    _sub(_sub(rd, QTI_NS, "correctResponse"), QTI_NS, "value", v.key)
    od = _sub(root, QTI_NS, "outcomeDeclaration", identifier="SCORE", cardinality="single", baseType="float")
    _sub(_sub(od, QTI_NS, "defaultValue"), QTI_NS, "value", "0")
    body = _sub(root, QTI_NS, "itemBody")
    ci = _sub(body, QTI_NS, "choiceInteraction", responseIdentifier="RESPONSE", shuffle="false", maxChoices="1")
    _sub(ci, QTI_NS, "prompt", t.stem)
    for label, option in zip(OPTION_LABELS, t.options):
        _sub(ci, QTI_NS, "simpleChoice", option, identifier=label, fixed="true")
    _sub(root, QTI_NS, "responseProcessing", template=MATCH_CORRECT)
    return _bytes(root)


def _bytes(root) -> bytes:
    ET.indent(root, "  ")
    return ET.tostring(root, encoding="utf-8", xml_declaration=True)


def _langstring(parent, tag, text, lang="x-none"):
    el = _sub(parent, MD_NS, tag)
    _sub(el, MD_NS, "langstring", text, **{XML_LANG: lang})
    return el


def _vocab(parent, tag, source, value):
    el = _sub(parent, MD_NS, tag)
    _langstring(el, "source", source)
    _langstring(el, "value", value)
    return el


def _classification(lom, purpose, source, codes):
    c = _sub(lom, MD_NS, "classification")
    _vocab(c, "purpose", "LOMv1.0", purpose)
    for code in codes:
        tp = _sub(c, MD_NS, "taxonpath")
        _langstring(tp, "source", source)
        _sub(_sub(tp, MD_NS, "taxon"), MD_NS, "id", code)


@dataclass(frozen=True)
class Entry:
    """One file of a package: its href, resource type, identifier and (for items) the metadata source."""

    href: str
    data: bytes
    resource_type: str = "webcontent"
    identifier: str = ""
    item: Item | None = None
    version: ItemVersion | None = None
    lang: str = ""
    dependencies: tuple[str, ...] = ()


def _item_metadata(res, e: Entry) -> None:
    v, item = e.version, e.item
    md = _sub(res, CP_NS, "metadata")
    _sub(md, CP_NS, "schema", "QTIv2.1 Package")
    _sub(md, CP_NS, "schemaversion", "1.0.0")
    lom = _sub(md, MD_NS, "lom")
    general = _sub(lom, MD_NS, "general")
    _sub(general, MD_NS, "identifier", v.item_id)
    _langstring(general, "title", f"{v.item_id} v{v.version}", e.lang)
    _sub(general, MD_NS, "language", e.lang)
    for kw in v.keywords:
        _langstring(general, "keyword", kw)
    life = _sub(lom, MD_NS, "lifecycle")
    _langstring(life, "version", str(v.version))
    _vocab(life, "status", STATUS_SOURCE, ItemStatus(item.status).value if item else "draft")
    _classification(lom, "discipline", COMPETENCY_SOURCE, [v.primary_competency])
    if v.secondary_competencies:
        _classification(lom, "discipline", SECONDARY_SOURCE, v.secondary_competencies)
    _classification(lom, "educational objective", LEVEL_SOURCE, [v.cognitive_level.value])
    qm = _sub(md, QMD_NS, "qtiMetadata")
    _sub(qm, QMD_NS, "timeDependent", "false")
    _sub(qm, QMD_NS, "interactionType", "choiceInteraction")
    _sub(qm, QMD_NS, "feedbackType", "none")
    _sub(qm, QMD_NS, "solutionAvailable", "true")
    _sub(qm, QMD_NS, "toolName", "certbank")
    _sub(qm, QMD_NS, "toolVersion", __version__)


def manifest_xml(identifier: str, entries: Iterable[Entry]) -> bytes:
    """The imsmanifest.xml listing every entry as a resource (items with their metadata)."""
    root = ET.Element(q(CP_NS, "manifest"), {
        "identifier": identifier,
        q(XSI_NS, "schemaLocation"): f"{CP_NS} http://www.imsglobal.org/xsd/imscp_v1p1.xsd "
                                     f"{MD_NS} http://www.imsglobal.org/xsd/imsmd_v1p2p4.xsd"})
    md = _sub(root, CP_NS, "metadata")
    _sub(md, CP_NS, "schema", "QTIv2.1 Package")
    _sub(md, CP_NS, "schemaversion", "1.0.0")
    lom = _sub(md, MD_NS, "lom")
    _langstring(_sub(lom, MD_NS, "general"), "description", KEY_NOTE, "en")
    _sub(root, CP_NS, "organizations")
    resources = _sub(root, CP_NS, "resources")
    for e in entries:
        res = _sub(resources, CP_NS, "resource", identifier=e.identifier or _res_id(e.href), type=e.resource_type,
                   href=e.href)
        if e.version is not None:
            _item_metadata(res, e)
        _sub(res, CP_NS, "file", href=e.href)
        for dep in e.dependencies:
            _sub(res, CP_NS, "dependency", identifierref=dep)
    return _bytes(root)


def _res_id(href: str) -> str:
    return "RES-" + "".join(c if c.isalnum() or c in "-_." else "-" for c in href.rsplit(".", 1)[0])


def item_entries(items: Iterable[Item], languages: Iterable[str], versions: dict | None = None) -> list[Entry]:
    """An Entry per item and language (the given versions, else current); an item without the language is an
    error, listed with every other one."""
    out, problems = [], []
    for it in items:
        v = (versions or {}).get(it.item_id, it.current)
        for lang in languages:
            if v.text(lang) is None:
                problems.append(Problem(f"item {it.item_id} (version {v.version}) has no text in {lang!r}"))
                continue
            href = item_href(it.item_id, lang)
            out.append(Entry(href, item_xml(v, lang), ITEM_TYPE, _res_id(href), it, v, lang))
    if problems:
        raise InputError(problems)
    return out


def write_package(path: str | Path, identifier: str, entries: list[Entry]) -> None:
    """The content package as a .zip, atomically: imsmanifest.xml first, then every entry."""
    path = Path(path)
    if path.suffix.lower() != ".zip":
        raise InputError(Problem("a QTI package is a .zip file: give a name ending in .zip", str(path)))
    if not path.parent.exists():
        raise InputError(Problem(f"the folder {path.parent} does not exist", str(path)))

    def writer(tmp: Path) -> None:
        with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as z:
            z.writestr("imsmanifest.xml", manifest_xml(identifier, entries))
            for e in entries:
                z.writestr(e.href, e.data)
    atomic_write(path, writer)


def export_items_qti(bank, path: str | Path, languages: Iterable[str] = ("en",), statuses: Iterable[str] = (),
                     item_ids: Iterable[str] | None = None) -> int:
    """``certbank items export FILE.zip --format qti --lang L``: the selected items' current versions, one
    assessmentItem per item and language. Returns the number of items."""
    try:
        wanted = {ItemStatus(s.strip().lower()) for s in statuses}
    except ValueError:
        raise InputError(Problem(f"unknown status in {list(statuses)}; use one of "
                                 f"{', '.join(e.value for e in ItemStatus)}", None, None, "--status")) from None
    items = [it for it in bank.items(item_ids) if not wanted or it.status in wanted]
    if not items:
        raise InputError(Problem("no items match the selection", str(path)))
    write_package(path, "certbank-items", item_entries(items, list(languages)))
    return len(items)
