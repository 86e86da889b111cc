"""A form as an IMS QTI 2.1 package for a delivery vendor: ``certbank forms export ID --format qti --lang L``.

It needs the form and the bank together (the versions on the form, their statistics), so it lives here; the
XML of items and the manifest is ``itembank.qti_export``. The package holds one ``assessmentItem`` per item
(the version on the form) in language L, one ``assessmentTest`` in form order, and ``usagedata.xml``: the
bank's statistics of those items (P, point-biserial, IRT a/b/c) as QTI usage data. Pretest items carry
``category="pretest"``; the test's SCORE sums every item outside that category and PRETEST sums the pretest
items, so a delivery system reports both but scores only the operational ones. One section holds every item:
certbank blueprints set counts per area, not sections, so there is no section break to carry.
"""
from __future__ import annotations

import math
from pathlib import Path
from xml.etree import ElementTree as ET

from itembank.qti_export import (
    KEY_NOTE, QTI_NS, TEST_TYPE, USAGE_NS, XSI_NS, Entry, _bytes, _res_id, _sub, item_entries, q,
    write_package,
)
from workflows.assembly import form_export

STATISTICS = {"p_value": "classical item difficulty (proportion correct)",
              "point_biserial": "corrected point-biserial correlation with the total score",
              "a": "IRT discrimination (bank scale)", "b": "IRT difficulty (bank scale)",
              "c": "IRT lower asymptote (bank scale)"}


def _test_xml(form, lang: str, entries: list[Entry], pretest: set[str]) -> bytes:
    root = ET.Element(q(QTI_NS, "assessmentTest"), {
        q(XSI_NS, "schemaLocation"): f"{QTI_NS} http://www.imsglobal.org/xsd/qti/qtiv2p1/imsqti_v2p1.xsd",
        "identifier": form.form_id, "title": f"{form.name or form.form_id} ({lang})", "toolName": "certbank"})
    for ident in ("SCORE", "PRETEST"):
        od = _sub(root, QTI_NS, "outcomeDeclaration", identifier=ident, cardinality="single", baseType="float")
        _sub(_sub(od, QTI_NS, "defaultValue"), QTI_NS, "value", "0")
    part = _sub(root, QTI_NS, "testPart", identifier="P1", navigationMode="nonlinear", submissionMode="simultaneous")
    section = _sub(part, QTI_NS, "assessmentSection", identifier="S1", title=form.name or form.form_id, visible="true")
    for e in entries:
        attrs = {"identifier": e.version.item_id, "href": f"../{e.href}"}
        if e.version.item_id in pretest:
            attrs["category"] = "pretest"
        _sub(section, QTI_NS, "assessmentItemRef", **attrs)
    op = _sub(root, QTI_NS, "outcomeProcessing")
    s = _sub(_sub(op, QTI_NS, "setOutcomeValue", identifier="SCORE"), QTI_NS, "sum")
    _sub(s, QTI_NS, "testVariables", variableIdentifier="SCORE", excludeCategory="pretest")
    s = _sub(_sub(op, QTI_NS, "setOutcomeValue", identifier="PRETEST"), QTI_NS, "sum")
    _sub(s, QTI_NS, "testVariables", variableIdentifier="SCORE", includeCategory="pretest")
    return _bytes(root)


def _usage_xml(form_id: str, frame) -> bytes:
    root = ET.Element(q(USAGE_NS, "usageData"), {
        q(XSI_NS, "schemaLocation"): f"{USAGE_NS} http://www.imsglobal.org/xsd/qti/qtiv2p1/imsqti_usagedata_v2p1.xsd"})
    for rec in frame.to_dict("records"):
        for stat, glossary in STATISTICS.items():
            value = rec.get(stat)
            if value is None or (isinstance(value, float) and math.isnan(value)):
                continue
            st = _sub(root, USAGE_NS, "ordinaryStatistic", name=stat, context=f"urn:certbank:bank:{form_id}")
            _sub(st, USAGE_NS, "targetObject", identifier=rec["item_id"])
            _sub(st, USAGE_NS, "value", f"{float(value):.6g}", baseType="float")
    return _bytes(root)


def export_form_qti(bank, form_id: str, lang: str, out: str | Path) -> str:
    """Write the form as a QTI 2.1 content package (.zip, atomically); returns a one-line description."""
    exp = form_export(bank, form_id, languages=(lang,))
    form = exp.form
    order = sorted(form.items, key=lambda fi: fi.position)
    items = {it.item_id: it for it in bank.items([fi.item_id for fi in order])}
    versions = {fi.item_id: bank.get_version(fi.item_id, fi.version) for fi in order}
    entries = item_entries([items[fi.item_id] for fi in order], [lang], versions)
    pretest = {fi.item_id for fi in order if fi.is_pretest}
    test_href = f"tests/{form.form_id}-{lang}.xml"
    test = Entry(test_href, _test_xml(form, lang, entries, pretest), TEST_TYPE, _res_id(test_href),
                 dependencies=tuple(e.identifier for e in entries))
    usage = Entry("usagedata.xml", _usage_xml(form.form_id, exp.map))
    write_package(out, f"{form.form_id}-{lang}", [test, *entries, usage])
    return (f"Wrote {out}: form {form.form_id} in {lang!r}, {len(entries)} items ({len(pretest)} pretest, "
            f"outside SCORE). {KEY_NOTE}")
