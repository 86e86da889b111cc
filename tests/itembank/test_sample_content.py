"""Content rules of the shipped sample program (itembank/sample): frameworks, crosswalk and bilingual items.

Reads the files with json/tomllib only (no Bank), so it checks the content itself. Item files are written by
two writers in parallel, so every per-file rule runs on the files present; `test_all_twelve_category_files_exist`
is the one check that needs the complete set.
"""
from __future__ import annotations

import collections
import json
import re
import tomllib
import unicodedata
from pathlib import Path

import pytest

SAMPLE = Path(__file__).resolve().parents[2] / "itembank" / "sample"
ITEMS_DIR = SAMPLE / "items"
ROMANS = ("I", "II", "III", "IV", "V", "VI", "VII", "VIII", "IX", "X", "XI", "XII")
LANGUAGES = ("en", "es")
LETTERS = ("A", "B", "C", "D")

# Default blueprint of the peer-support exam (TEAM.md, "Default blueprint"): items per SAMHSA category, sum 120.
DEFAULT_BLUEPRINT = {"I": 12, "II": 10, "III": 8, "IV": 10, "V": 10, "VI": 10,
                     "VII": 12, "VIII": 10, "IX": 10, "X": 10, "XI": 8, "XII": 10}
# Sample bank layout (TEAM.md / issue 3): 30 items per category, 26 operational + 4 pretest.
ITEMS_PER_CATEGORY = 30
OPERATIONAL_PER_CATEGORY = 26
PRETEST_PER_CATEGORY = 4
KEY_COUNTS_PER_CATEGORY = [7, 7, 8, 8]          # sorted counts of A-D keys in one category file
KEY_SHARE_RANGE = (0.20, 0.30)                  # each letter's share of all keys
MAX_KEY_TO_DISTRACTOR_RATIO = 1.6               # key length / mean distractor length, per item and language
MAX_SHARE_KEY_LONGEST = 0.40                    # share of items whose key is the (joint) longest option
OPERATIONAL_SHARE_RANGE = (0.80, 0.90)
MIN_APPLICATION_SHARE = 0.50                    # "mostly scenario-based application items"
MIN_RECALL_SHARE = 0.10
MIN_MISSOURI_LINKED_SHARE = 1 / 3               # a Missouri code in secondary_competencies where one fits
BANNED_OPTIONS = re.compile(
    r"\b(all|none|both) of the above\b|\btodas las anteriores\b|\bninguna de las anteriores\b"
    r"|\btodos los anteriores\b|\bninguno de los anteriores\b", re.IGNORECASE)
ITEM_ID = re.compile(r"^PSS-\d{4}$")
STATUSES = {"draft", "review", "approved", "pretest", "operational", "retired"}
LEVELS = {"recall", "application", "analysis"}
REQUIRED = ("item_id", "status", "primary_competency", "secondary_competencies", "cognitive_level", "key",
            "author", "source", "keywords", "enemies",
            *(f"{f}_{lang}" for lang in LANGUAGES for f in
              ("stem", "option_a", "option_b", "option_c", "option_d", "rationale", "translation_status")))


def _toml(path: Path) -> dict:
    with path.open("rb") as fh:
        return tomllib.load(fh)


def _framework(name: str) -> dict:
    return _toml(SAMPLE / "frameworks" / f"{name}.toml")


def _codes(fw: dict) -> dict[str, str]:
    """competency code -> area code"""
    return {c["code"]: a["code"] for a in fw["areas"] for c in a["competencies"]}


SAMHSA = _framework("samhsa")
MISSOURI = _framework("missouri")
SAMHSA_CODES = _codes(SAMHSA)
MISSOURI_CODES = _codes(MISSOURI)
ALL_CODES = {**SAMHSA_CODES, **MISSOURI_CODES}


def _file_for(roman: str) -> Path:
    return ITEMS_DIR / f"samhsa-{roman.lower()}.json"


PRESENT = [r for r in ROMANS if _file_for(r).exists()]


def _rows(roman: str) -> list[dict]:
    return json.loads(_file_for(roman).read_text(encoding="utf-8"))


ALL_ROWS = {r: _rows(r) for r in PRESENT}
FLAT = [row for r in PRESENT for row in ALL_ROWS[r]]


def _options(row: dict, lang: str) -> list[str]:
    return [row[f"option_{x}_{lang}"] for x in "abcd"]


def _normalize(text: str) -> str:
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower()
    return " ".join(re.sub(r"[^a-z0-9 ]", " ", text).split())


def _split(cell: str) -> list[str]:
    return [p.strip() for p in (cell or "").split(";") if p.strip()]


# ---------------------------------------------------------------- frameworks and crosswalk

def test_samhsa_framework_has_twelve_categories_with_numbered_competencies():
    assert SAMHSA["framework"]["code"] == "SAMHSA"
    areas = SAMHSA["areas"]
    assert [a["code"] for a in areas] == [f"SAMHSA.{r}" for r in ROMANS]
    # competency counts per category in the 2015 SAMHSA document
    assert [len(a["competencies"]) for a in areas] == [5, 5, 4, 4, 5, 5, 6, 5, 6, 6, 7, 4]
    for a in areas:
        assert a["title"].strip()
        codes = [c["code"] for c in a["competencies"]]
        assert codes == [f"{a['code']}.{i}" for i in range(1, len(codes) + 1)]
        assert all(c["title"].strip() for c in a["competencies"])
    assert SAMHSA_CODES["SAMHSA.IX.6"] == "SAMHSA.IX"


def test_missouri_framework_has_four_areas():
    assert MISSOURI["framework"]["code"] == "MO"
    areas = MISSOURI["areas"]
    assert [a["code"] for a in areas] == ["MO.A", "MO.B", "MO.C", "MO.D"]
    assert [len(a["competencies"]) for a in areas] == [11, 9, 7, 3]
    for a in areas:
        codes = [c["code"] for c in a["competencies"]]
        assert codes == [f"{a['code']}.{i}" for i in range(1, len(codes) + 1)]


def test_crosswalk_links_existing_missouri_codes_to_existing_samhsa_codes():
    links = _toml(SAMPLE / "crosswalk.toml")["crosswalk"]
    assert len(links) >= 20
    pairs = [(e["from"], e["to"]) for e in links]
    assert len(pairs) == len(set(pairs)), "duplicate crosswalk link"
    for e in links:
        assert e["from"] in MISSOURI_CODES, e
        assert e["to"] in SAMHSA_CODES, e
        assert e.get("note", "").strip(), e
    # every Missouri area has at least one link
    assert {MISSOURI_CODES[f] for f, _ in pairs} == {"MO.A", "MO.B", "MO.C", "MO.D"}


# ---------------------------------------------------------------- per category file

def test_at_least_one_category_file_is_present():
    assert PRESENT, "no itembank/sample/items/samhsa-*.json file"


def test_no_unexpected_item_files():
    expected = {_file_for(r).name for r in ROMANS}
    assert {p.name for p in ITEMS_DIR.glob("*.json")} <= expected


@pytest.mark.parametrize("roman", PRESENT)
def test_rows_have_the_wide_layout_and_valid_codes(roman):
    rows = ALL_ROWS[roman]
    assert isinstance(rows, list) and len(rows) == ITEMS_PER_CATEGORY
    for row in rows:
        missing = [c for c in REQUIRED if c not in row]
        assert not missing, (row.get("item_id"), missing)
        assert ITEM_ID.match(row["item_id"]), row["item_id"]
        assert row["status"] in STATUSES
        assert row["cognitive_level"] in LEVELS
        assert row["key"] in LETTERS
        assert row["author"].strip() and row["source"].strip() and row["keywords"].strip()
        # the primary competency is a real competency of this file's category
        assert SAMHSA_CODES.get(row["primary_competency"]) == f"SAMHSA.{roman}", row["item_id"]
        for code in _split(row["secondary_competencies"]):
            assert code in ALL_CODES, (row["item_id"], code)
            assert code != row["primary_competency"], row["item_id"]


@pytest.mark.parametrize("roman", PRESENT)
def test_category_counts_status_and_spread(roman):
    rows = ALL_ROWS[roman]
    status = collections.Counter(r["status"] for r in rows)
    assert status == {"operational": OPERATIONAL_PER_CATEGORY, "pretest": PRETEST_PER_CATEGORY}
    assert status["operational"] >= 2 * DEFAULT_BLUEPRINT[roman]
    share = status["operational"] / len(rows)
    assert OPERATIONAL_SHARE_RANGE[0] <= share <= OPERATIONAL_SHARE_RANGE[1]
    # every competency of the category is the primary competency of some item
    used = {r["primary_competency"] for r in rows}
    assert used == {c for c, area in SAMHSA_CODES.items() if area == f"SAMHSA.{roman}"}
    levels = collections.Counter(r["cognitive_level"] for r in rows)
    assert levels["application"] / len(rows) >= MIN_APPLICATION_SHARE
    assert levels["recall"] / len(rows) >= MIN_RECALL_SHARE
    linked = sum(any(c.startswith("MO.") for c in _split(r["secondary_competencies"])) for r in rows)
    assert linked / len(rows) >= MIN_MISSOURI_LINKED_SHARE


@pytest.mark.parametrize("roman", PRESENT)
def test_category_key_counts_and_no_runs(roman):
    keys = "".join(r["key"] for r in ALL_ROWS[roman])
    assert sorted(collections.Counter(keys).values()) == KEY_COUNTS_PER_CATEGORY
    assert not re.search(r"(.)\1\1\1", keys), f"four identical keys in a row in {roman}: {keys}"


@pytest.mark.parametrize("roman", PRESENT)
def test_both_languages_present_reviewed_and_different(roman):
    for row in ALL_ROWS[roman]:
        iid = row["item_id"]
        for lang in LANGUAGES:
            assert row[f"translation_status_{lang}"] == "reviewed", (iid, lang)
            texts = [row[f"stem_{lang}"], *_options(row, lang), row[f"rationale_{lang}"]]
            assert all(t.strip() for t in texts), (iid, lang)
            # exactly four options: nothing in option_e/option_f
            assert not row.get(f"option_e_{lang}", "") and not row.get(f"option_f_{lang}", ""), iid
            assert len({_normalize(o) for o in _options(row, lang)}) == 4, (iid, lang, "repeated option")
        assert row["stem_en"] != row["stem_es"], iid
        assert row["rationale_en"] != row["rationale_es"], iid
        assert sum(a == b for a, b in zip(_options(row, "en"), _options(row, "es"))) <= 1, iid


@pytest.mark.parametrize("roman", PRESENT)
def test_no_all_or_none_of_the_above(roman):
    for row in ALL_ROWS[roman]:
        for lang in LANGUAGES:
            for text in _options(row, lang):
                assert not BANNED_OPTIONS.search(text), (row["item_id"], text)


@pytest.mark.parametrize("roman", PRESENT)
def test_key_length_is_similar_to_distractors(roman):
    for row in ALL_ROWS[roman]:
        k = LETTERS.index(row["key"])
        for lang in LANGUAGES:
            lengths = [len(o) for o in _options(row, lang)]
            distractors = [n for i, n in enumerate(lengths) if i != k]
            ratio = lengths[k] / (sum(distractors) / len(distractors))
            assert ratio <= MAX_KEY_TO_DISTRACTOR_RATIO, (row["item_id"], lang, round(ratio, 2))


# ---------------------------------------------------------------- across all present files

def test_item_ids_unique_across_files():
    ids = [r["item_id"] for r in FLAT]
    dupes = [i for i, n in collections.Counter(ids).items() if n > 1]
    assert not dupes


def test_key_balance_overall():
    counts = collections.Counter(r["key"] for r in FLAT)
    for letter in LETTERS:
        share = counts[letter] / len(FLAT)
        assert KEY_SHARE_RANGE[0] <= share <= KEY_SHARE_RANGE[1], (letter, share)


@pytest.mark.parametrize("lang", LANGUAGES)
def test_key_is_not_usually_the_longest_option(lang):
    longest = 0
    for row in FLAT:
        lengths = [len(o) for o in _options(row, lang)]
        longest += lengths[LETTERS.index(row["key"])] == max(lengths)
    assert longest / len(FLAT) < MAX_SHARE_KEY_LONGEST, longest / len(FLAT)


@pytest.mark.parametrize("lang", LANGUAGES)
def test_no_two_stems_alike(lang):
    seen: dict[str, str] = {}
    for row in FLAT:
        norm = _normalize(row[f"stem_{lang}"])
        assert norm not in seen, (row["item_id"], seen.get(norm))
        seen[norm] = row["item_id"]


def test_enemies_exist_and_are_symmetric():
    by_id = {r["item_id"]: r for r in FLAT}
    complete = len(PRESENT) == len(ROMANS)
    for row in FLAT:
        for other in _split(row["enemies"]):
            assert other != row["item_id"]
            if other not in by_id:
                assert not complete, (row["item_id"], other, "enemy does not exist")
                continue
            assert row["item_id"] in _split(by_id[other]["enemies"]), (row["item_id"], other, "not symmetric")


def test_some_enemy_pairs_exist():
    pairs = {tuple(sorted((r["item_id"], o))) for r in FLAT for o in _split(r["enemies"])}
    assert len(pairs) >= 2


def test_all_twelve_category_files_exist():
    """Passes once both writers have finished: 12 files, 360 items."""
    missing = [r for r in ROMANS if r not in PRESENT]
    assert not missing, f"missing category files: {missing}"
    assert len(FLAT) == len(ROMANS) * ITEMS_PER_CATEGORY
