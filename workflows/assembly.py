"""Blueprints and forms against an item bank: what the CLI's blueprint / assemble / forms commands call.

Each function takes an open :class:`itembank.store.Bank` and does one job: check a blueprint, assemble and
save forms, describe a form, export it (csv/json here; the xlsx workbook through ``bundles``; an IMS QTI 2.1
package for a delivery vendor here too: the XML of items and the manifest is ``itembank.qti_export``, and this
module adds one ``assessmentTest`` in form order and ``usagedata.xml`` with the bank's statistics; pretest items
carry ``category="pretest"``: SCORE sums the others, PRETEST them). The numeric work lives in ``blueprints.assemble`` (pure over a pool frame).
"""
from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence
from xml.etree import ElementTree as ET

import pandas as pd

import blueprints
from blueprints.assemble import DEFAULT_GAP, DEFAULT_TIME_LIMIT, AssemblyResult, assemble, check_blueprint
from blueprints.diagnose import FeasibilityReport
from blueprints.loading import load_blueprint, parse_blueprint
from blueprints.model import Blueprint
from blueprints.validate import unknown_codes
from blueprints.verify import FormDraft
from certbank_core.errors import AssemblyError, InputError
from itembank.model import Form, FormStatus
from itembank.qti_export import (KEY_NOTE, QTI_NS, TEST_TYPE, USAGE_NS, XSI_NS, Entry, _bytes, _res_id, _sub,
                                 item_entries, q, write_package)

DEFAULT_DIR = Path(blueprints.__file__).resolve().parent / "default"
#: Columns of a form map (export, ``forms show``), in order.
FORM_MAP_COLUMNS = ("position", "item_id", "version", "is_pretest", "primary_competency", "area", "cognitive_level",
                    "key", "p_value", "point_biserial", "a", "b", "c")


def resolve_blueprint(path: str | Path) -> Path:
    """A blueprint file path; ``default`` (or a shipped file's stem) names a blueprint shipped with certbank."""
    candidate = Path(path)
    if candidate.exists():
        return candidate
    name = "peer_support" if str(path) == "default" else str(path)
    shipped = DEFAULT_DIR / f"{name}.toml"
    return shipped if shipped.exists() else candidate


def blueprint_for(bank, path: str | Path) -> Blueprint:
    """Load a blueprint from a file, else from the bank's stored blueprints by name, else a shipped one."""
    if not Path(path).exists() and "/" not in str(path):
        stored = bank.list_blueprints()
        if str(path) in set(stored["name"]):
            return parse_blueprint(bank.get_blueprint(str(path)), file=f"blueprint {path!r} in the bank")
    return load_blueprint(resolve_blueprint(path))


def _checked_blueprint(bank, path: str | Path) -> Blueprint:
    """The blueprint, with its area and competency codes checked against the bank's frameworks."""
    bp = blueprint_for(bank, path)
    competencies = bank.competencies()
    problems = unknown_codes(bp, set(competencies["area_code"]), set(competencies["code"]))
    if problems:
        raise InputError(problems)
    return bp


def recent_published_forms(bank) -> list[str]:
    """Published form ids, most recently published first (for ``exclude_last_forms``)."""
    forms = bank.list_forms()
    published = forms[forms["status"] == FormStatus.PUBLISHED.value]
    return published.sort_values("published_at", ascending=False)["form_id"].tolist()


def form_draft(bank, form_id: str) -> FormDraft:
    """A saved form as assembly sees it: name = form id, items in position order, pretest flags, positions."""
    form = bank.get_form(form_id)
    items = sorted(form.items, key=lambda fi: fi.position)
    return FormDraft(form.form_id, tuple(fi.item_id for fi in items), tuple(fi.is_pretest for fi in items),
                     tuple(fi.position for fi in items))


def recent_published_form_items(bank, limit: int | None = None) -> list[FormDraft]:
    """The published forms, newest first, with their items (for ``rules.max_shared_with_recent`` and
    ``anchor.reference = "latest"``); ``limit`` keeps the newest ``limit``."""
    ids = recent_published_forms(bank)
    return [form_draft(bank, form_id) for form_id in (ids if limit is None else ids[:limit])]


def _earlier_forms(bank, bp: Blueprint) -> list[FormDraft]:
    """As many recent published forms as the blueprint's rules look at."""
    return recent_published_form_items(bank, max(bp.recent_forms, 1))


def anchor_reference_form(bank, bp: Blueprint) -> FormDraft | None:
    """The anchor's reference form when the blueprint names one (``anchor.reference = "form:<id>"``); for
    "latest" assembly takes the newest published form itself."""
    if bp.anchor.reference_form is None:
        return None
    return form_draft(bank, bp.anchor.reference_form)


def reference_items(bank, bp: Blueprint) -> tuple[str, ...] | None:
    """The scored items of the blueprint's reference form, when its targets are relative to a form."""
    if bp.reference_form is None:
        return None
    return bank.get_form(bp.reference_form).scored_item_ids


def pool_and_enemies(bank) -> tuple[pd.DataFrame, list[tuple[str, str]]]:
    """What ``blueprints.assemble`` takes from a bank: the item pool frame and the recorded enemy pairs."""
    return bank.item_pool(), list(bank.enemy_pairs())


def check_blueprint_file(bank, path: str | Path, *, n_forms: int = 1, time_limit: float = 20.0) -> FeasibilityReport:
    """Validate a blueprint file, then check the bank can supply ``n_forms`` forms (counting, then a trial)."""
    bp = _checked_blueprint(bank, path)
    pool, enemies = pool_and_enemies(bank)
    return check_blueprint(bp, pool, enemies, n_forms=n_forms, recent_forms=recent_published_forms(bank),
                           time_limit=time_limit, reference_items=reference_items(bank, bp),
                           earlier_forms=_earlier_forms(bank, bp), anchor_form=anchor_reference_form(bank, bp))


def render_feasibility(report: FeasibilityReport) -> str:
    """The report as lines for the terminal: one per rule (ok / SHORT), notes, then the verdict."""
    lines = [f"Blueprint {report.blueprint_name!r}, {report.n_forms} form(s):"]
    for ln in report.lines:
        lines.append(f"  {'ok ' if ln.ok else 'SHORT'} {ln.label}: needs {ln.needed}, eligible {ln.eligible}")
    lines += [f"  note: {n}" for n in report.notes]
    lines.append(report.message)
    return "\n".join(lines)


@dataclass(frozen=True)
class SavedForms:
    result: AssemblyResult
    form_ids: tuple[str, ...]

    def summary(self) -> str:
        return self.result.summary() + "\nSaved as draft: " + ", ".join(self.form_ids)


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.\-]+", "-", text).strip("-.") or "form"


def _free_id(base: str, taken: set[str]) -> str:
    if base not in taken:
        return base
    n = 2
    while f"{base}-{n}" in taken:
        n += 1
    return f"{base}-{n}"


def assemble_into_bank(bank, path: str | Path, *, n_forms: int = 1, seed: int | None = None,
                       time_limit: float = DEFAULT_TIME_LIMIT, gap: float = DEFAULT_GAP,
                       name: str | None = None) -> SavedForms:
    """Assemble ``n_forms`` forms from the bank and save them as drafts, all or nothing.

    Forms are saved only when the independent verification passes; each stores the blueprint's name and
    hash, and the solver statistics and notes in ``details``.
    """
    bp: Blueprint = _checked_blueprint(bank, path)
    pool, enemies = pool_and_enemies(bank)
    result = assemble(bp, pool, enemies, n_forms=n_forms, seed=seed, time_limit=time_limit, gap=gap,
                      recent_forms=recent_published_forms(bank), name=name,
                      reference_items=reference_items(bank, bp), earlier_forms=_earlier_forms(bank, bp),
                      anchor_form=anchor_reference_form(bank, bp))
    if not result.ok:
        raise AssemblyError("The solver's forms failed the independent check; nothing was saved.\n"
                            + "\n".join(c.message for c in result.verification.failures))
    ids = []
    s = result.solver
    details = {"solver": {"status": s.status, "objective": s.objective, "bound": s.bound, "gap": s.gap,
                          "seconds": round(s.seconds, 3), "method": s.method},
               "seed": seed, "blueprint_source": str(bp.source), "notes": list(result.notes)}
    checks = result.rules_frame()
    with bank.transaction():
        # Ids are chosen under the write lock: another process saving forms meanwhile can't take the same one.
        taken = set(bank.list_forms()["form_id"])
        for form in result.forms:
            form_id = _free_id(_slug(form.name), taken)
            taken.add(form_id)
            # What every rule achieved on this form when it was built (overlap rows name both forms): the
            # form keeps its own conformance record, as the pool it was checked against will change.
            mine = checks[checks["form"].str.contains(form.name, regex=False)]
            # The anchor block (with the reference form) and the run's common block, for the equating later.
            blocks = {"anchor": {"reference_form": result.anchor_reference, "items": list(form.anchor_items)},
                      "common_block": {"forms": [f.name for f in result.forms], "items": list(form.common_items)}}
            bank.save_form(Form(form_id=form_id, name=form.name, items=form.items, blueprint_name=bp.exam.name,
                                blueprint_hash=result.blueprint_hash, status=FormStatus.DRAFT,
                                details={**details, **blocks,
                                         "verification": json.loads(mine.to_json(orient="records"))}))
            ids.append(form_id)
    return SavedForms(result, tuple(ids))


# ---- describing and exporting forms ----------------------------------------------------------------------


@dataclass(frozen=True)
class FormExport:
    """Everything a form export needs: the form, its map (one row per position), the answer key, and the
    text of each language (``texts``: the columns of ``Bank.item_texts``) for booklets."""

    form: Form
    map: pd.DataFrame
    key: dict[str, str]
    texts: pd.DataFrame = field(default=None, compare=False, hash=False, repr=False)

    def to_frame(self) -> pd.DataFrame:
        return self.map


def form_export(bank, form_id: str, languages: Sequence[str] = ("en", "es")) -> FormExport:
    """Gather a saved form's map (keys of the versions on the form), answer key and texts."""
    form = bank.get_form(form_id)
    pool = bank.item_pool().set_index("item_id")
    rows = []
    for fi in form.items:
        info = pool.loc[fi.item_id] if fi.item_id in pool.index else pd.Series(dtype=object)
        rows.append({"position": fi.position, "item_id": fi.item_id, "version": fi.version,
                     "is_pretest": fi.is_pretest,
                     **{c: info.get(c) for c in FORM_MAP_COLUMNS[4:]}})
    frame = pd.DataFrame(rows, columns=list(FORM_MAP_COLUMNS))
    key = bank.form_key(form_id)
    frame["key"] = frame["item_id"].map(key)  # the key of the version on the form, not the current one
    texts = bank.item_texts([fi.item_id for fi in form.items], languages=tuple(languages),
                            versions={fi.item_id: fi.version for fi in form.items})
    return FormExport(form, frame, key, texts)


def show_form(bank, form_id: str) -> str:
    """A saved form as text: one header line, then its items in order."""
    exp = form_export(bank, form_id)
    f = exp.form
    head = (f"{f.form_id}: {f.name} ({f.status.value}), blueprint {f.blueprint_name!r} {f.blueprint_hash[:12]}, "
            f"{len(f.items)} items ({sum(fi.is_pretest for fi in f.items)} pretest), created by {f.created_by} "
            f"at {f.created_at}")
    table = exp.map[["position", "item_id", "version", "is_pretest", "area", "cognitive_level", "key", "p_value"]]
    return head + "\n" + table.to_string(index=False)


def form_verification(form: Form) -> pd.DataFrame:
    """What every blueprint rule achieved on ``form`` when it was assembled (``Verification.to_frame()``
    columns); empty for a form saved without one."""
    return pd.DataFrame(form.details.get("verification") or [])


def export_form(bank, form_id: str, fmt: str, out: str | Path | None = None) -> str:
    """Write the form map as csv or json (to ``out``, atomically, or return the text). The xlsx workbook
    (form map, conformance, curves, key, booklets) is rendered by ``reports.form_report`` from
    :func:`form_export` and :func:`form_verification`."""
    from certbank_core.files import atomic_write

    fmt = fmt.lower()
    exp = form_export(bank, form_id)
    if fmt == "csv":
        text = exp.map.to_csv(index=False)
    elif fmt == "json":
        f = exp.form
        payload = {"form_id": f.form_id, "name": f.name, "status": f.status.value,
                   "blueprint_name": f.blueprint_name, "blueprint_hash": f.blueprint_hash,
                   "created_by": f.created_by, "created_at": f.created_at,
                   "items": json.loads(exp.map.to_json(orient="records")), "key": exp.key}
        text = json.dumps(payload, indent=2, ensure_ascii=False)
    else:
        raise InputError(f"Unknown export format {fmt!r}; use csv or json (or xlsx from the CLI).")
    if out is None:
        return text
    atomic_write(Path(out), lambda tmp: tmp.write_text(text, encoding="utf-8"))
    return str(out)


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

