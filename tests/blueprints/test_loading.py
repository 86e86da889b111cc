"""Blueprint TOML and constraints tables: the default blueprint loads, every problem is reported at once,
and a table states the same rules as TOML (same hash)."""
from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from blueprints.loading import load_blueprint, parse_blueprint
from blueprints.model import CountRule
from certbank_core.errors import InputError

DEFAULT = Path(__file__).resolve().parents[2] / "blueprints" / "default" / "peer_support.toml"
SAMHSA_COUNTS = {"I": 12, "II": 10, "III": 8, "IV": 10, "V": 10, "VI": 10, "VII": 12, "VIII": 10, "IX": 10,
                 "X": 10, "XI": 8, "XII": 10}


def test_default_blueprint_has_the_program_counts_and_rules():
    bp = load_blueprint(DEFAULT)
    assert bp.exam.length == 120 and bp.exam.pretest_slots == 10 and bp.exam.languages == ("en", "es")
    areas = {r.values[0]: r.lower for r in bp.counts if r.attribute == "area"}
    assert areas == {f"SAMHSA.{k}": v for k, v in SAMHSA_COUNTS.items()}
    assert all(r.lower == r.upper for r in bp.counts if r.attribute == "area")
    keys = {r.values[0]: (r.lower, r.upper) for r in bp.counts if r.attribute == "key"}
    assert keys == {k: (24, 36) for k in "ABCD"}
    assert bp.eligibility.scored_statuses == ("operational",)
    assert bp.eligibility.reviewed_languages == ("en", "es")
    assert bp.enemies and bp.information.theta == (-1.0, 0.0, 1.0) and bp.characteristic is not None


def test_every_problem_is_reported_with_its_key_path():
    text = """
[exam]
length = "120"
pretest_slots = 40
languages = ["es"]
bogus = 1

[[content.areas]]
code = "SAMHSA.I"
min = 5
max = 3

[[content.areas]]
label = "no code"
count = 2

[rules.key_balance]
A = [24]

[targets.information]
mode = "best"
values = [1.0]
"""
    with pytest.raises(InputError) as err:
        parse_blueprint(text, file="bp.toml")
    message = str(err.value)
    for expected in ("exam.name: is required", "exam.length: must be a whole number",
                     "exam.bogus: unknown key", "content.areas[2].code: is required",
                     "rules.key_balance.A: must be a [lower, upper] pair",
                     "exam.pretest_slots: must be between 0 and 20",
                     "exam.languages: must include 'en'", "lower bound 5 is above upper bound 3",
                     "targets.information.mode: must be one of target, maximin",
                     "targets.information.values: needs one value per θ point (3), got 1"):
        assert expected in message, expected
    assert all(p.file == "bp.toml" for p in err.value.problems)
    assert len(err.value.problems) >= 10


def test_minimum_counts_that_exceed_the_length_are_reported():
    text = """
[exam]
name = "x"
length = 10
[[content.areas]]
code = "A.I"
count = 6
[[content.areas]]
code = "A.II"
count = 6
"""
    with pytest.raises(InputError, match="minimum counts add up to 12, more than the exam length 10"):
        parse_blueprint(text)


def _table(path: Path, rows: list[list[str]]) -> Path:
    frame = pd.DataFrame(rows, columns=["id", "type", "attribute", "values", "lower", "upper", "on"])
    if path.suffix == ".xlsx":
        frame.to_excel(path, index=False)
    else:
        frame.to_csv(path, index=False)
    return path


TABLE_ROWS = [
    ["len", "length", "", "", "120", "", "on"],
    ["langs", "eligible", "language", "en;es", "", "", ""],
    ["area:SAMHSA.I", "count", "area", "SAMHSA.I", "12", "12", "on"],
    ["key:A", "count", "key", "A", "24", "36", "on"],
    ["mean_p", "mean", "p_value", "", "0.55", "0.85", "on"],
    ["rpbis", "item", "point_biserial", "", "0.1", "", "off"],
    ["no-enemies", "enemies", "", "", "", "", "on"],
    ["overlap", "overlap", "", "", "", "30", "on"],
]


@pytest.mark.parametrize("suffix", [".csv", ".xlsx"])
def test_constraints_table_loads_structured_rules(tmp_path, suffix):
    bp = load_blueprint(_table(tmp_path / f"peer{suffix}", TABLE_ROWS))
    assert bp.exam.length == 120 and bp.exam.languages == ("en", "es") and bp.max_overlap == 30
    assert CountRule("area:SAMHSA.I", "area", ("SAMHSA.I",), 12, 12, "area:SAMHSA.I") in bp.counts
    assert bp.means[0].lower == 0.55 and bp.means[0].upper == 0.85
    assert bp.item_bounds[0].on is False and bp.active_item_bounds == ()


def test_table_rows_in_toml_match_the_same_rules_written_in_toml(tmp_path):
    _table(tmp_path / "rules.csv", [["key:B", "count", "key", "B", "24", "36", "on"]])
    base = '[exam]\nname = "x"\nlength = 120\n'
    via_table = tmp_path / "a.toml"
    via_table.write_text(base + '[rules]\ntable = "rules.csv"\n')
    inline = tmp_path / "b.toml"
    inline.write_text(base + '[[rules.count]]\nid = "key:B"\nattribute = "key"\nvalues = ["B"]\nmin = 24\nmax = 36\n'
                             'label = "key:B"\n')
    assert load_blueprint(via_table).hash() == load_blueprint(inline).hash()


def test_bad_table_rows_are_all_reported_with_row_and_column(tmp_path):
    path = _table(tmp_path / "bad.csv", [
        ["len", "length", "", "", "120", "", ""],
        ["c1", "count", "area", "", "2", "", ""],
        ["c1", "sum", "area", "X", "", "", ""],
        ["c3", "count", "key", "A", "two", "", "maybe"],
    ])
    with pytest.raises(InputError) as err:
        load_blueprint(path)
    text = str(err.value)
    assert "row 3, column 'values': a count rule needs an attribute and values" in text
    assert "row 4, column 'id': rule id 'c1' is used twice" in text
    assert "row 4, column 'type': unknown rule type 'sum'" in text
    assert "row 5, column 'lower': must be a number, not 'two'" in text
    assert "row 5, column 'on': must be on or off" in text


def test_missing_file_and_wrong_suffix(tmp_path):
    with pytest.raises(InputError, match="not found"):
        load_blueprint(tmp_path / "none.toml")
    (tmp_path / "x.txt").write_text("")
    with pytest.raises(InputError, match=".toml, .csv or .xlsx"):
        load_blueprint(tmp_path / "x.txt")


def test_hash_ignores_the_source_file_and_changes_with_a_rule():
    text = '[exam]\nname = "x"\nlength = 10\n'
    a, b = parse_blueprint(text, file="a.toml"), parse_blueprint(text, file="b.toml")
    c = parse_blueprint(text.replace("10", "11"), file="a.toml")
    assert a.hash() == b.hash() != c.hash()
