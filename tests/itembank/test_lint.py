"""Item-writing and translation checks: each rule found on a planted violation in English and in Spanish,
silent on a clean item, configurable, applied to every import, and the shipped sample's remaining warnings."""
from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest
from click.testing import CliRunner

from certbank_core.errors import InputError
from cli import main
from itembank.importing import import_items, read_rows
from itembank.lint import RULES, load_config, lint_version
from itembank.lint_run import versions_from_rows
from itembank.store import Bank
from tests.itembank.conftest import digest, item_row, write_rows

CLEAN_EN = ("A peer says she feels hopeless about finding work. What is the most helpful response?",
            ["Ask what kind of work she has enjoyed before", "Tell her the job market is improving this year",
             "Suggest she wait until she feels more confident", "Give her a list of agencies to call today"])
CLEAN_ES = ("Una persona dice que no tiene esperanza de encontrar trabajo. ¿Cuál es la respuesta más útil?",
            ["Preguntarle qué tipo de trabajo ha disfrutado antes", "Decirle que el mercado laboral mejora este año",
             "Sugerirle que espere hasta sentirse más segura", "Darle una lista de agencias para llamar hoy"])


def row(item_id="L-1", key="A", en=CLEAN_EN, es=CLEAN_ES, **over):
    r = item_row(item_id, key=key, stem_en=en[0], stem_es=es[0], rationale_en="Because.", rationale_es="Porque.")
    for i, (a, b) in enumerate(zip(en[1], es[1])):
        r[f"option_{'abcd'[i]}_en"], r[f"option_{'abcd'[i]}_es"] = a, b
    r.update(over)
    return r


def findings(r):
    (v,) = versions_from_rows([(2, r)])
    return lint_version(v, load_config())


def rules(r):
    return {(f.rule, f.field) for f in findings(r)}


def test_a_clean_item_has_no_findings():
    assert findings(row()) == []


# (rule, row overrides, the field expected) — each planted in English and in Spanish
PLANTED = [
    ("all-none-of-the-above", {"option_d_en": "All of the above"}, "option_d_en"),
    ("all-none-of-the-above", {"option_d_es": "Ninguna de las anteriores"}, "option_d_es"),
    ("negative-stem", {"stem_en": "A peer asks for help. Which response is not helpful?"}, "stem_en"),
    ("negative-stem", {"stem_es": "Una persona pide ayuda. ¿Qué respuesta es útil, excepto una?"}, "stem_es"),
    ("key-longest", {"option_a_en": "Ask what kind of work she has enjoyed before and what she was good at, "
                                    "and build from there together"}, "option_a_en"),
    ("key-longest", {"option_a_es": "Preguntarle qué tipo de trabajo ha disfrutado antes, en qué era buena y "
                                    "construir desde ahí con ella, juntos, paso a paso"}, "option_a_es"),
    ("grammatical-cue", {"stem_en": "The most helpful first step is an", "option_a_en": "open question about work",
                         "option_b_en": "lecture", "option_c_en": "referral", "option_d_en": "pamphlet"}, "stem_en"),
    ("grammatical-cue", {"stem_es": "El primer paso más útil es una", "option_a_es": "pregunta abierta",
                         "option_b_es": "sermón", "option_c_es": "folleto", "option_d_es": "consejo"}, "stem_es"),
    ("absolute-distractors", {"option_b_en": "Tell her the job market always improves"}, "option_b_en"),
    ("absolute-distractors", {"option_c_es": "Sugerirle que nunca busque sin ayuda"}, "option_c_es"),
    ("key-repeats-stem", {"option_a_en": "Ask why she feels hopeless about finding work"}, "option_a_en"),
    ("key-repeats-stem", {"option_a_es": "Preguntarle por qué no tiene esperanza de encontrar trabajo"},
     "option_a_es"),
    ("duplicate-options", {"option_c_en": "Tell her the job market is improving this year!"}, "option_c_en"),
    ("duplicate-options", {"option_d_es": "Sugerirle que espere hasta sentirse más segura"}, "option_d_es"),
    ("stem-form", {"stem_en": "A peer says she feels hopeless about finding work."}, "stem_en"),
    ("stem-form", {"stem_es": "Una persona dice que no tiene esperanza. Cuál es la respuesta más útil?"}, "stem_es"),
    ("stem-length", {"stem_en": "word " * 81 + "?"}, "stem_en"),
    ("stem-length", {"stem_es": "¿" + "palabra " * 96 + "?"}, "stem_es"),
    ("parity-doses", {"stem_en": "John Smith took 25 mg of his medicine. What is the most helpful response?",
                      "stem_es": "John Smith tomó 40 mg de su medicina. ¿Cuál es la respuesta más útil?"}, "stem_es"),
    ("parity-numbers", {"option_d_en": "Give her a list of 3 agencies to call today",
                        "option_d_es": "Darle una lista de 5 agencias para llamar hoy"}, "option_d_es"),
    ("parity-names", {"stem_en": "At the clinic, John Smith says he feels hopeless. What is the most helpful response?",
                      "stem_es": "En la clínica, María dice que no tiene esperanza. ¿Cuál es la respuesta más útil?"},
     "stem_es"),
    ("parity-length", {"option_b_es": "Decir que sí"}, "option_b_es"),
    ("parity-untranslated", {"option_c_es": "Suggest she wait until she feels more confident"}, "option_c_es"),
    ("parity-untranslated", {"rationale_es": ""}, "rationale_es"),
    ("parity-english", {"option_d_es": "Give her the list of the agencies for you to call"}, "option_d_es"),
    ("parity-key-position", {"option_a_en": "Call Ana at 9", "option_b_en": "Call Luis at 5",
                             "option_a_es": "Llamar a Luis a las 5", "option_b_es": "Llamar a Ana a las 9"},
     "option_b_es"),
]


@pytest.mark.parametrize("rule, over, field", PLANTED, ids=[f"{p[0]}-{p[2]}" for p in PLANTED])
def test_each_planted_violation_is_found_rule_by_rule(rule, over, field):
    found = rules(row(**over))
    assert (rule, field) in found, found
    assert all(f.suggestion for f in findings(row(**over)))


def test_every_rule_has_a_planted_violation_in_both_languages():
    planted = Counter(rule for rule, _, _ in PLANTED)
    assert set(planted) == set(RULES)
    writing = [r for r in RULES if not r.startswith("parity-")]
    assert all(planted[r] == 2 for r in writing)  # one English, one Spanish


def test_negatives_in_capitals_and_in_the_scenario_are_accepted():
    assert not rules(row(stem_en="A peer does not want advice. Which response is NOT helpful?"))
    assert not rules(row(stem_es="Una persona no quiere consejos. ¿Qué respuesta NO es útil?"))


def test_config_turns_rules_off_or_blocking_and_is_checked(tmp_path):
    cfg = tmp_path / "lint.toml"
    cfg.write_text('[rules]\nstem-form = "off"\nkey-longest = "blocking"\n', encoding="utf-8")
    from itembank.lint import load_config as load

    v = versions_from_rows([(2, row(stem_en="A statement."))])[0]
    assert lint_version(v, load(cfg)) == []
    bad = tmp_path / "bad.toml"
    bad.write_text('[rules]\nno-such-rule = "blocking"\nstem-form = "fatal"\n', encoding="utf-8")
    with pytest.raises(InputError) as err:
        load(bad)
    assert len(err.value.problems) == 2 and "no-such-rule" in str(err.value)


def test_a_program_config_is_laid_over_the_shipped_one(tmp_path):
    # a file that switches one rule off keeps every rule and limit it leaves out as shipped: the blocking
    # all-none-of-the-above and parity-doses stay blocking (they were demoted to warnings)
    from itembank.lint import load_config as load

    cfg = tmp_path / "lint.toml"
    cfg.write_text('[rules]\nnegative-stem = "off"\n[limits]\nstem_max_words = { en = 60 }\n', encoding="utf-8")
    shipped, own = load(), load(cfg)
    assert own.severity("negative-stem") == "off"
    assert own.severity("parity-doses") == shipped.severity("parity-doses") == "blocking"
    assert own.severity("all-none-of-the-above") == "blocking"
    assert {r: own.severity(r) for r in RULES if r != "negative-stem"} == \
        {r: shipped.severity(r) for r in RULES if r != "negative-stem"}
    assert own.stem_max_words == {"en": 60, "es": 95} and own.key_stem_words == shipped.key_stem_words == 3
    assert own.names == shipped.names and own.source == str(cfg)
    v = versions_from_rows([(2, row(option_d_en="None of the above"))])[0]
    assert [f.severity for f in lint_version(v, own) if f.rule == "all-none-of-the-above"] == ["blocking"]


def test_import_refuses_blocking_findings_all_at_once_and_prints_warnings(tmp_path, bank_path):
    bad = write_rows(tmp_path / "bad.csv", [row("L-1", option_d_en="None of the above"),
                                             row("L-2", option_d_es="Todas las anteriores"),
                                             row("L-3", stem_en="A statement.")])
    before = digest(bank_path)
    result = CliRunner().invoke(main, ["--bank", str(bank_path), "items", "import", str(bad)])
    assert result.exit_code == 2
    lines = [ln for ln in result.output.splitlines() if "blocking" in ln]
    assert len(lines) == 2 and "row 2, column 'option_d_en'" in lines[0] and "row 3, column 'option_d_es'" in lines[1]
    assert "Traceback" not in result.output and digest(bank_path) == before
    ok = write_rows(tmp_path / "ok.csv", [row("L-3", stem_en="A statement.")])
    result = CliRunner().invoke(main, ["--bank", str(bank_path), "items", "import", str(ok)])
    assert result.exit_code == 0 and "Warning:" in result.output and "stem-form (warning)" in result.output
    relaxed = tmp_path / "relaxed.toml"
    relaxed.write_text('[rules]\nall-none-of-the-above = "warning"\n', encoding="utf-8")
    with Bank.open(bank_path) as bank:
        import_items(bank, write_rows(tmp_path / "one.csv", [row("L-4", option_d_en="All of the above")]),
                     lint_config=relaxed)
        assert "L-4" in bank.item_ids()


def test_lint_command_on_the_bank_and_on_a_file(tmp_path, bank_path):
    f = write_rows(tmp_path / "f.json", [row("L-9", option_b_en="Tell her it always gets better")])
    out = CliRunner().invoke(main, ["items", "lint", str(f), "--format", "json"])  # no bank needed for a file
    assert out.exit_code == 0, out.output
    data = json.loads(out.stdout)
    assert [(d["item_id"], d["rule"], d["field"]) for d in data] == [("L-9", "absolute-distractors", "option_b_en")]
    assert set(data[0]) == {"item_id", "language", "field", "rule", "severity", "message", "suggestion"}
    out = CliRunner().invoke(main, ["--bank", str(bank_path), "items", "lint", "--status", "draft", "--format", "csv"])
    assert out.exit_code == 0 and out.stdout.startswith("item_id,language,field,rule")
    out = CliRunner().invoke(main, ["--bank", str(bank_path), "items", "lint", "--status", "nonsense"])
    assert out.exit_code == 2 and "unknown status" in out.output and "Traceback" not in out.output


#: The sample bank's findings under the shipped config, rule by rule; README ("qti and item checks") gives
#: the reason for each. A change here is a change to the sample or the rules: update the README with it.
SAMPLE_EXPECTED = {"absolute-distractors": 78, "key-repeats-stem": 9, "negative-stem": 4, "parity-names": 1}


def test_the_shipped_sample_has_only_the_warnings_the_readme_explains():
    sample = Path(__file__).resolve().parents[2] / "itembank" / "sample" / "items"
    rows = [r for p in sorted(sample.glob("*.json")) for r in read_rows(p)[1]]
    assert len(rows) == 360
    found = [f for v in versions_from_rows(rows) for f in lint_version(v, load_config())]
    assert not [f for f in found if f.severity == "blocking"]
    assert Counter(f.rule for f in found) == SAMPLE_EXPECTED
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    for rule in SAMPLE_EXPECTED:
        assert f"`{rule}`" in readme
