"""QTI 2.1: packages validate against the IMS XSDs, round-trip through an empty bank, and an unsupported
construct is one line per element with exit 2 and the bank unchanged."""
from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pytest
from click.testing import CliRunner

from cli import main
from itembank.exporting import item_row
from itembank.model import Form, FormItem
from itembank.sample_loader import create_sample_bank
from itembank.store import Bank
from tests.itembank.conftest import digest

ROOT = Path(__file__).resolve().parents[2]
XSD = ROOT.parent / "shared" / "reference-data" / "qti"
IDS = ["PSS-0001", "PSS-0002", "PSS-0031", "PSS-0029", "PSS-0030"]


def run(bank, *args):
    return CliRunner().invoke(main, ["--bank", str(bank), *map(str, args)])


@pytest.fixture(scope="module")
def sample(tmp_path_factory):
    path = tmp_path_factory.mktemp("qti") / "sample.db"
    create_sample_bank(path)
    with Bank.open(path) as bank:
        bank.save_form(Form("QTI-A", "QTI form", tuple(FormItem(i + 1, item_id, 1, is_pretest=(i == 4))
                                                        for i, item_id in enumerate(IDS))))
    return path


def _schemas():
    etree = pytest.importorskip("lxml.etree", reason="lxml validates QTI against the XSDs (pip install lxml)")
    if not (XSD / "qtiv2p1" / "imsqti_v2p1.xsd").is_file():
        pytest.skip(f"the IMS XSDs are not at {XSD} (see ../shared/reference-data/qti/README.md)")
    qti = etree.XMLSchema(etree.parse(str(XSD / "qtiv2p1" / "imsqti_v2p1.xsd")))
    usage = etree.XMLSchema(etree.parse(str(XSD / "qtiv2p1" / "imsqti_usagedata_v2p1.xsd")))
    # the manifest with its LOM and QTI metadata: one schema importing the three namespaces
    wrapper = f"""<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema" targetNamespace="urn:wrapper">
      <xs:import namespace="http://www.imsglobal.org/xsd/imscp_v1p1" schemaLocation="{(XSD / 'imscp_v1p1.xsd').as_uri()}"/>
      <xs:import namespace="http://www.imsglobal.org/xsd/imsmd_v1p2" schemaLocation="{(XSD / 'imsmd_v1p2p4.xsd').as_uri()}"/>
      <xs:import namespace="http://www.imsglobal.org/xsd/imsqti_metadata_v2p1"
                 schemaLocation="{(XSD / 'qtiv2p1' / 'imsqti_metadata_v2p1.xsd').as_uri()}"/></xs:schema>"""
    manifest = etree.XMLSchema(etree.fromstring(wrapper.encode()))
    return etree, qti, usage, manifest


def _validate(package: Path) -> int:
    etree, qti, usage, manifest = _schemas()
    n = 0
    with zipfile.ZipFile(package) as z:
        for name in z.namelist():
            doc = etree.parse(io.BytesIO(z.read(name)))
            schema = manifest if name == "imsmanifest.xml" else usage if name == "usagedata.xml" else qti
            assert schema.validate(doc), f"{name}: {schema.error_log}"
            n += 1
    return n


def test_form_package_validates_orders_items_and_sets_pretest_apart(sample, tmp_path):
    out = tmp_path / "form.zip"
    result = run(sample, "forms", "export", "QTI-A", "--format", "qti", "--lang", "es", "--out", out)
    assert result.exit_code == 0, result.output
    assert "correctResponse only" in result.output
    assert _validate(out) == 1 + 1 + len(IDS) + 1  # manifest, test, items, usage data
    with zipfile.ZipFile(out) as z:
        test = z.read("tests/QTI-A-es.xml").decode()
        item = z.read("items/es/PSS-0001.xml").decode()
        manifest = z.read("imsmanifest.xml").decode()
        usage = z.read("usagedata.xml").decode()
    refs = [line.split('identifier="')[1].split('"')[0] for line in test.splitlines() if "assessmentItemRef" in line]
    assert refs == IDS
    assert 'identifier="PSS-0030" href="../items/es/PSS-0030.xml" category="pretest"' in test
    assert 'excludeCategory="pretest"' in test
    assert 'xml:lang="es"' in item and "match_correct" in item and "<value>A</value>" in item
    assert "SAMHSA.I.1" in manifest and "operational" in manifest and "rationale" not in item.lower()
    with Bank.open(sample) as bank:
        rationale = bank.get_item("PSS-0001").current.text("es").rationale
    assert rationale[:40] not in item + manifest
    assert "PSS-0001" in usage or "ordinaryStatistic" not in usage


def test_round_trip_through_an_empty_bank_keeps_items_keys_options_texts(sample, tmp_path):
    first, second = tmp_path / "one.zip", tmp_path / "two.zip"
    assert run(sample, "items", "export", first, "--format", "qti", "--lang", "en", "--lang", "es",
               "--status", "pretest").exit_code == 0
    fresh = tmp_path / "fresh.db"
    assert run(fresh, "init").exit_code == 0
    for fw in sorted((ROOT / "itembank" / "sample" / "frameworks").glob("*.toml")):
        assert run(fresh, "frameworks", "import", fw).exit_code == 0
    imported = run(fresh, "items", "import", first)
    assert imported.exit_code == 0, imported.output
    assert run(fresh, "items", "export", second, "--format", "qti", "--lang", "en", "--lang", "es").exit_code == 0
    _validate(second)
    with zipfile.ZipFile(first) as a, zipfile.ZipFile(second) as b:
        assert sorted(a.namelist()) == sorted(b.namelist())
        for name in a.namelist():
            if name != "imsmanifest.xml":
                assert a.read(name) == b.read(name), name
    with Bank.open(sample) as one, Bank.open(fresh) as two:
        ids = sorted(two.item_ids())
        assert len(ids) == 48
        cols = [c for c in item_row(one.get_item(ids[0]), ["en", "es"]) if c.startswith(("stem_", "option_"))]
        for i in ids:
            a, b = item_row(one.get_item(i), ["en", "es"]), item_row(two.get_item(i), ["en", "es"])
            assert [a[c] for c in cols + ["key", "primary_competency", "status", "keywords"]] == \
                   [b[c] for c in cols + ["key", "primary_competency", "status", "keywords"]]


UNSUPPORTED = """<?xml version="1.0"?>
<assessmentItem xmlns="http://www.imsglobal.org/xsd/imsqti_v2p1" identifier="X-1" title="x" adaptive="false"
  timeDependent="false" xml:lang="en">
  <responseDeclaration identifier="RESPONSE" cardinality="multiple" baseType="identifier">
    <correctResponse><value>A</value></correctResponse></responseDeclaration>
  <itemBody><p>Type the word: <img src="a.png" alt="a"/></p>
    <textEntryInteraction responseIdentifier="R2"/>
    <choiceInteraction responseIdentifier="RESPONSE" shuffle="false" maxChoices="2">
      <simpleChoice identifier="A">One</simpleChoice><simpleChoice identifier="B">Two</simpleChoice>
    </choiceInteraction></itemBody>
  <modalFeedback outcomeIdentifier="FEEDBACK" identifier="F" showHide="show">Well done</modalFeedback>
</assessmentItem>"""


def test_unsupported_constructs_are_one_line_per_element_and_change_nothing(sample, tmp_path):
    pkg = tmp_path / "tao.zip"
    with zipfile.ZipFile(pkg, "w") as z:
        z.writestr("q1.xml", UNSUPPORTED)
    before = digest(sample)
    result = run(sample, "items", "import", pkg)
    assert result.exit_code == 2 and "Traceback" not in result.output
    lines = result.output.strip().splitlines()
    for element in ("itemBody/p/img", "itemBody/textEntryInteraction", "assessmentItem/modalFeedback",
                    "maxChoices='2'", "cardinality 'multiple'"):
        assert sum(element in line for line in lines) == 1, (element, lines)
    assert all(f"{pkg}/q1.xml" in line for line in lines)
    assert digest(sample) == before
    lint = run(sample, "items", "lint", pkg)
    assert lint.exit_code == 2 and "textEntryInteraction" in lint.output


def test_a_spanish_package_revises_the_spanish_of_a_draft_in_the_bank(tmp_path, bank_path):
    pkg = tmp_path / "es.zip"
    assert run(bank_path, "items", "export", pkg, "--format", "qti", "--lang", "es").exit_code == 0
    with zipfile.ZipFile(pkg) as z:
        files = {n: z.read(n) for n in z.namelist()}
    files["items/es/T-0001.xml"] = files["items/es/T-0001.xml"].replace("Escuchar".encode(), "Oír".encode())
    with zipfile.ZipFile(pkg, "w") as z:
        for n, data in files.items():
            z.writestr(n, data)
    result = run(bank_path, "items", "import", pkg)
    assert result.exit_code == 0, result.output
    with Bank.open(bank_path) as bank:
        v = bank.get_item("T-0001").current
        assert v.version == 2 and v.text("es").options[1] == "Oír" and v.text("en").options[1] == "Listen"
        # QTI carries no rationale: the bank's stays in both languages
        assert v.text("es").rationale == "Escuchar crea confianza." and v.text("en").rationale == "Listening builds trust."


def test_reimporting_our_own_package_changes_nothing(sample, tmp_path):
    # export → import of the same items: every one unchanged (no new versions, the rationale QTI does not
    # carry kept), so a package that went to TAO and came back unedited is a no-op
    pkg = tmp_path / "all.zip"
    assert run(sample, "items", "export", pkg, "--format", "qti").exit_code == 0
    before = digest(sample)
    result = run(sample, "items", "import", pkg)
    assert result.exit_code == 0, result.output
    assert "0 new items, 0 new versions, 360 unchanged, 0 status changes" in result.output
    assert digest(sample) == before
