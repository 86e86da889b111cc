"""Reading, checking and scoring response files (psychometrics.responses.matrix)."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from certbank_core.errors import InputError
from psychometrics.responses.matrix import (CODE_NOT_REACHED, CODE_OMIT, from_labels, from_scored, not_reached_mask,
                                            score)
from workflows.responses import read_item_areas, read_key_file, read_responses


def write(path, text):
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture
def key_file(tmp_path):
    return write(tmp_path / "key.csv", "item_id,key\nQ1,A\nQ2,b\nQ3,C\nQ4,4\n")


def test_read_key_file_accepts_lower_case_and_digits(key_file):
    # 'b' is B; the digit 4 means the fourth option, D
    assert read_key_file(key_file) == {"Q1": "A", "Q2": "B", "Q3": "C", "Q4": "D"}


def test_key_file_problems_all_listed(tmp_path):
    path = write(tmp_path / "k.csv", "item_id,key\nQ1,A\nQ1,B\nQ2,Z\n,C\n")
    with pytest.raises(InputError) as err:
        read_key_file(path)
    text = str(err.value)
    assert "row 3, column 'item_id'" in text and "first in row 2" in text
    assert "row 4, column 'key'" in text and "'Z'" in text
    assert "row 5, column 'item_id'" in text
    assert len(err.value.problems) == 3


def test_read_item_areas(tmp_path):
    ok = write(tmp_path / "a.csv", "item_id,key,area\nQ1,A,SAMHSA.I\nQ2,B,SAMHSA.II\n")
    assert read_item_areas(ok) == {"Q1": "SAMHSA.I", "Q2": "SAMHSA.II"}
    bad = write(tmp_path / "b.csv", "item_id,area\nQ1,X\nQ1,Y\nQ2,\n")
    with pytest.raises(InputError) as err:
        read_item_areas(bad)
    assert "row 3, column 'item_id'" in str(err.value) and "row 4, column 'area'" in str(err.value)


def test_labels_case_blanks_omits_and_not_reached(tmp_path, key_file):
    path = write(tmp_path / "r.csv",
                 "candidate_id,form_id,language,site,Q1,Q2,Q3,Q4\n"
                 "c1,F1,en,north,a,B,c,D\n"     # all right, lower case accepted
                 "c2,F1,es,south,B,*,C,\n"       # Q2 omitted ('*'), Q4 not reached (trailing)
                 "c3,F1,en,north,-,A,,\n"        # Q1 omitted ('-'), Q3-Q4 trailing: not reached
                 "c4,F1,es,south,,,,\n")         # nothing answered: all not reached
    rm = read_responses(path, key=read_key_file(key_file))
    assert rm.item_ids == ("Q1", "Q2", "Q3", "Q4")
    assert list(rm.person_ids) == ["c1", "c2", "c3", "c4"]
    assert list(rm.groups.columns) == ["form_id", "language", "site"]
    assert list(rm.groups["language"]) == ["en", "es", "en", "es"]
    nan = np.nan
    expected = np.array([[1, 1, 1, 1], [0, 0, 1, nan], [0, 0, nan, nan], [nan, nan, nan, nan]])
    np.testing.assert_array_equal(rm.scored, expected)
    assert rm.raw[0].tolist() == ["A", "B", "C", "D"]
    assert rm.raw[1].tolist() == ["B", "", "C", ""]
    np.testing.assert_array_equal(rm.omitted, [[0, 0, 0, 0], [0, 1, 0, 0], [1, 0, 0, 0], [0, 0, 0, 0]])
    np.testing.assert_array_equal(rm.not_reached, [[0, 0, 0, 0], [0, 0, 0, 1], [0, 0, 1, 1], [1, 1, 1, 1]])
    codes = rm.option_codes
    assert codes[1].tolist() == [1, CODE_OMIT, 2, CODE_NOT_REACHED]
    assert rm.key_codes.tolist() == [0, 1, 2, 3]


def test_not_reached_rule_can_be_switched_off(tmp_path, key_file):
    path = write(tmp_path / "r.csv", "candidate_id,Q1,Q2,Q3,Q4\nc1,A,B,,\nc2,A,A,C,D\n")
    rm = read_responses(path, key=read_key_file(key_file), not_reached_rule=False)
    np.testing.assert_array_equal(rm.scored, [[1, 1, 0, 0], [1, 0, 1, 1]])
    assert rm.omitted.tolist() == [[False, False, True, True], [False] * 4]
    assert not rm.not_reached.any()


def test_numeric_options(tmp_path, key_file):
    path = write(tmp_path / "r.csv", "candidate_id,Q1,Q2,Q3,Q4\nc1,1,2,3,4\nc2,2,2,1,1\n")
    rm = read_responses(path, key=read_key_file(key_file), numeric_options=True)
    assert rm.raw.tolist() == [["A", "B", "C", "D"], ["B", "B", "A", "A"]]
    np.testing.assert_array_equal(rm.scored, [[1, 1, 1, 1], [0, 1, 0, 0]])


def test_scored_input_needs_no_key(tmp_path):
    path = write(tmp_path / "r.csv", "candidate_id,language,I1,I2,I3\nc1,en,1,0,1\nc2,es,0,,\nc3,en,,1,0\n")
    rm = read_responses(path)
    assert rm.raw is None and rm.key is None
    np.testing.assert_array_equal(rm.scored, [[1, 0, 1], [0, np.nan, np.nan], [0, 1, 0]])
    assert rm.omitted[2, 0] and rm.not_reached[1, 1] and rm.not_reached[1, 2]
    # scored input: pseudo-options 0 (wrong) and 1 (right), key code 1
    assert rm.option_codes[0].tolist() == [1, 0, 1]
    assert rm.option_codes[2, 0] == CODE_OMIT


def test_xlsx_reads_like_csv(tmp_path, key_file):
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    ws.append(["candidate_id", "language", "Q1", "Q2", "Q3", "Q4"])
    ws.append([1001, "en", "A", "b", "C", "D"])
    ws.append([1002, "es", "B", None, "C", None])
    wb.save(tmp_path / "r.xlsx")
    rm = read_responses(tmp_path / "r.xlsx", key=read_key_file(key_file))
    assert list(rm.person_ids) == ["1001", "1002"]  # numbers become ids without '.0'
    np.testing.assert_array_equal(rm.scored, [[1, 1, 1, 1], [0, 0, 1, np.nan]])


def test_every_problem_is_reported_with_file_row_and_column(tmp_path):
    path = write(tmp_path / "bad.csv",
                 "candidate_id,form_id,Q1,Q2,Q3,QX\n"
                 "c1,F1,A,B,,\n"
                 "c1,F1,E,B,,\n"      # duplicate id; E is outside Q1's options A-C
                 "c3,F2,A,?,,\n"      # another form; '?' is not a label
                 "c4,F1,A,B,,\n")
    key = {"Q1": "A", "Q2": "B", "Q3": "C", "Q4": "D"}
    options = {"Q1": ("A", "B", "C"), "Q2": ("A", "B", "C", "D"), "Q3": ("A", "B", "C", "D"),
               "Q4": ("A", "B", "C", "D")}
    with pytest.raises(InputError) as err:
        read_responses(path, key=key, options=options, form_id="F1")
    text = str(err.value)
    f = str(path)
    assert f"{f}, row 3, column 'candidate_id': candidate id 'c1' also appears in row 2" in text
    assert f"{f}, row 3, column 'Q1'" in text and "'E' is not one of this item's options A, B, C" in text
    assert f"{f}, row 4, column 'form_id'" in text and "'F2'" in text
    assert f"{f}, row 4, column 'Q2'" in text and "'?'" in text
    assert f"{f}, row 1, column 'QX'" in text and "not on the form/key" in text
    assert "item Q4 is on the form/key but the file has no column" in text
    assert f"{f}, row 1, column 'Q3'" in text and "every cell" in text
    assert len(err.value.problems) == 7


@pytest.mark.parametrize("content, message", [
    ("", "the file is empty"),
    ("candidate_id,Q1\n", "no candidate rows"),
    ("person,Q1\np1,A\n", "no 'candidate_id' column"),
])
def test_empty_and_headerless_files(tmp_path, content, message):
    path = write(tmp_path / "r.csv", content)
    with pytest.raises(InputError, match=message):
        read_responses(path, key={"Q1": "A"})


def test_labels_without_key_are_a_problem(tmp_path):
    path = write(tmp_path / "r.csv", "candidate_id,Q1\np1,A\n")
    with pytest.raises(InputError, match="a key is needed"):
        read_responses(path)


def test_unsupported_and_missing_files(tmp_path):
    with pytest.raises(InputError, match="does not exist"):
        read_responses(tmp_path / "nope.csv", key={"Q1": "A"})
    with pytest.raises(InputError, match="unsupported file type"):
        read_responses(write(tmp_path / "r.txt", "x"), key={"Q1": "A"})


def test_score_and_not_reached_mask_by_hand():
    raw = np.array([["A", "b", ""], ["*", "C", "-"], ["", "", ""]])  # '*' and '-' are no response
    # row 1: last answer in column 2 -> column 3 not reached; row 2: column 1 omitted, column 3 not reached
    nr = not_reached_mask(np.isin(raw, ["", "*", "-"]))
    assert nr.tolist() == [[False, False, True], [False, False, True], [True, True, True]]
    s = score(raw, {"x": "A", "y": "B", "z": "C"}, ("x", "y", "z"), nr)
    np.testing.assert_array_equal(s, [[1, 1, np.nan], [0, 0, np.nan], [np.nan] * 3])


def test_from_labels_infers_options_and_subsets():
    rm = from_labels([["A", "C"], ["B", ""]], ["A", "B"], item_ids=["i1", "i2"],
                     groups=pd.DataFrame({"language": ["en", "es"]}))
    assert rm.options == {"i1": ("A", "B"), "i2": ("A", "B", "C")}
    sub = rm.subset(rm.groups["language"].to_numpy() == "es")
    assert sub.n_persons == 1 and sub.raw.tolist() == [["B", ""]]
    rev = rm.select_items(["i2", "i1"])
    assert rev.key == {"i2": "B", "i1": "A"} and rev.raw[0].tolist() == ["C", "A"]


@settings(max_examples=40, deadline=None)
@given(st.lists(st.lists(st.sampled_from(["A", "B", "C", ""]), min_size=4, max_size=4), min_size=1, max_size=12))
def test_masks_partition_no_responses(rows):
    raw = np.array(rows)
    rm = from_labels(raw, ["A", "B", "C", "A"])
    no_response = raw == ""
    # every no-response is exactly one of omitted / not reached, and only not-reached cells are NaN
    np.testing.assert_array_equal(rm.omitted ^ rm.not_reached, no_response)
    assert not (rm.omitted & rm.not_reached).any()
    np.testing.assert_array_equal(np.isnan(rm.scored), rm.not_reached)
    # after the first not-reached cell of a row, every cell is not reached
    assert (np.diff(rm.not_reached.astype(int), axis=1) >= 0).all()


def test_from_scored_round_trip():
    rm = from_scored([[1, np.nan, 0], [np.nan, 1, np.nan]])
    np.testing.assert_array_equal(rm.scored, [[1, 0, 0], [0, 1, np.nan]])
    assert rm.omitted.tolist() == [[False, True, False], [True, False, False]]


@settings(max_examples=25, deadline=None)
@given(st.lists(st.lists(st.sampled_from(["A", "b", "C", "d", "", "*", "-"]), min_size=3, max_size=3),
                min_size=1, max_size=15),
       st.sampled_from([".csv", ".xlsx"]))
def test_file_round_trip(tmp_path_factory, rows, suffix):
    """Whatever labels are written (any case, any no-response mark), reading gives them back upper-case."""
    rows = [r[:2] + ["A"] for r in rows]  # a last answered item keeps every earlier blank an omit
    frame = pd.DataFrame(rows, columns=["I1", "I2", "I3"])
    frame.insert(0, "candidate_id", [f"p{i}" for i in range(len(rows))])
    # a column with no answer at all is (rightly) an error; make sure each has one
    frame.loc[0, ["I1", "I2"]] = ["A", "B"]
    path = tmp_path_factory.mktemp("rt") / f"r{suffix}"
    if suffix == ".csv":
        frame.to_csv(path, index=False)
    else:
        frame.to_excel(path, index=False)
    rm = read_responses(path, key={"I1": "A", "I2": "B", "I3": "A"}, not_reached_rule=False)
    expected = frame[["I1", "I2", "I3"]].apply(lambda c: c.str.upper().replace({"*": "", "-": ""})).to_numpy()
    assert rm.raw.tolist() == expected.tolist()
    assert list(rm.person_ids) == list(frame["candidate_id"])
    np.testing.assert_array_equal(rm.scored, (expected == np.array(["A", "B", "A"])).astype(float))


def test_semicolon_csv_and_group_column_after_the_items(tmp_path, key_file):
    # Excel in a Spanish locale writes ';'; a named group column may also sit after the item columns
    path = write(tmp_path / "r.csv", "candidate_id;Q1;Q2;Q3;Q4;sede\nc1;A;B;C;D;norte\nc2;B;B;C;A;sur\n")
    rm = read_responses(path, key=read_key_file(key_file), group_columns=["sede"])
    assert rm.item_ids == ("Q1", "Q2", "Q3", "Q4") and list(rm.groups["sede"]) == ["norte", "sur"]
    np.testing.assert_array_equal(rm.scored, [[1, 1, 1, 1], [0, 1, 1, 0]])


def _read_outcome(path, **kwargs):
    """Everything read_responses gives for a file (or its error message), comparable with ==."""
    try:
        rm = read_responses(path, **kwargs)
    except InputError as err:
        return str(err)
    return (rm.person_ids.tolist(), rm.item_ids, None if rm.raw is None else rm.raw.tolist(),
            np.nan_to_num(rm.scored, nan=-1).tolist(), rm.omitted.tolist(), rm.not_reached.tolist(),
            rm.groups.to_dict("list"), rm.options)


@settings(max_examples=40, deadline=None)
@given(st.lists(st.lists(st.sampled_from(["A", "b", "", "*", "-", " C", "D ", "1.0", "0", "1", "x", "é"]),
                         min_size=3, max_size=3), min_size=1, max_size=8),
       st.sampled_from(["\n", "\r\n"]), st.booleans(), st.booleans(), st.sampled_from([",", ";"]),
       st.sampled_from(["p", " 7.0", "a-candidate-id-longer-than-32-bytes-"]))
def test_plain_csv_split_reads_like_pandas(tmp_path_factory, rows, newline, bom, final_newline, sep, prefix):
    """The numpy splitter of plain CSV files gives what pandas.read_csv gives, problems included."""
    from workflows import tables as table_files

    lines = [sep.join(["candidate_id", "language", "Q1", "Q2", "Q3"])]
    lines += [sep.join([f"{prefix}{i % 5}", "en" if i % 2 else "es"] + r) for i, r in enumerate(rows)]
    text = newline.join(lines) + (newline if final_newline else "")
    path = tmp_path_factory.mktemp("plain") / "r.csv"
    path.write_bytes(("\ufeff" if bom else "").encode() + text.encode("utf-8"))
    assert table_files.plain_csv_columns(path, sep) is not None  # the fast path is the one under test
    kwargs = {"key": {"Q1": "A", "Q2": "B", "Q3": "C"},
              "options": {q: ("A", "B", "C", "D") for q in ("Q1", "Q2", "Q3")}}
    fast = _read_outcome(path, **kwargs)
    original = table_files.plain_csv_columns
    try:
        table_files.plain_csv_columns = lambda *args: None
        assert _read_outcome(path, **kwargs) == fast
    finally:
        table_files.plain_csv_columns = original


@pytest.mark.parametrize("text", [
    'candidate_id,Q1,Q2\n"c1",A,B\nc2,B,A\n',   # quotes: pandas reads it
    "candidate_id,Q1,Q2\nc1,A,B\n\nc2,B,A\n",   # a blank line
    "candidate_id,Q1,Q2\nc1,A\nc2,B,A\n",       # a short row
    "candidate_id,Q1,Q2\rc1,A,B\rc2,B,A\r",     # bare carriage returns
])
def test_files_that_are_not_plain_go_through_pandas(tmp_path, text):
    from workflows import tables as table_files

    path = write(tmp_path / "r.csv", text)
    assert table_files.plain_csv_columns(path, ",") is None
    rm = read_responses(path, key={"Q1": "A", "Q2": "B"})
    assert rm.person_ids.tolist() == ["c1", "c2"]


def test_csv_body_read_in_blocks_of_lines_gives_the_same_matrix(tmp_path, monkeypatch):
    """The plain-CSV reader splits the body a block of lines at a time (cell positions never exist for the
    whole file): blocks of 3 lines, a short last block, ids and stray longer cells give what one block gives."""
    from workflows import tables as table_files

    rng = np.random.default_rng(3)
    rows = ["candidate_id,language,Q1,Q2,Q3,Q4"]
    for i in range(23):
        cells = [str(rng.choice(["A", "B", "C", "D", ""])) for _ in range(4)]
        if i == 5:
            cells[1] = " b "
        rows.append(f"cand-{i * 37},{'es' if i % 3 else 'en'}," + ",".join(cells))
    path = write(tmp_path / "r.csv", "\n".join(rows) + "\n")
    key = {"Q1": "A", "Q2": "B", "Q3": "C", "Q4": "D"}
    whole = read_responses(path, key=key)
    monkeypatch.setattr(table_files, "LINES_PER_BLOCK", 3)
    blocked = read_responses(path, key=key)
    assert blocked.person_ids.tolist() == whole.person_ids.tolist()
    np.testing.assert_array_equal(blocked.codes, whole.codes)
    np.testing.assert_array_equal(blocked.raw, whole.raw)
    assert blocked.groups.equals(whole.groups)


def test_matrix_stores_one_byte_a_cell_and_builds_the_float_view_on_demand():
    """codes (uint8) are what a ResponseMatrix holds; scored (1/0/NaN), right (int8), raw and the masks are
    derived from them and agree with the scoring rule."""
    raw = [["A", "", "C", ""], ["b", "B", "", ""], ["", "", "", ""]]
    rm = from_labels(raw, ["A", "B", "C", "D"])
    assert rm.codes.dtype == np.uint8 and rm.codes.nbytes == rm.n_persons * rm.n_items
    assert "scored" not in rm.__dict__                       # nothing built yet
    expected = np.array([[1, 0, 1, np.nan], [0, 1, np.nan, np.nan], [np.nan] * 4])
    np.testing.assert_array_equal(rm.scored, expected)
    np.testing.assert_array_equal(rm.right, np.nan_to_num(expected).astype(np.int8))
    assert rm.right.dtype == np.int8
    assert rm.raw.tolist() == [["A", "", "C", ""], ["B", "B", "", ""], ["", "", "", ""]]
    np.testing.assert_array_equal(rm.omitted, [[False, True, False, False], [False] * 4, [False] * 4])
    np.testing.assert_array_equal(rm.not_reached, np.isnan(expected))
    sub = rm.subset([1]).select_items(["item3", "item2"])
    np.testing.assert_array_equal(sub.scored, [[np.nan, 1.0]])
    scored = from_scored([[1, np.nan, 0], [0.5, 1, np.nan]])
    assert scored.raw is None and not scored.has_labels
    np.testing.assert_array_equal(scored.scored, [[1, 0, 0], [0.5, 1, np.nan]])   # not 0/1: kept as given


def test_eap_of_a_matrix_reads_its_codes_and_equals_the_float_path(tmp_path):
    from psychometrics.simulate import simulate_dataset
    from workflows.scoring import score_responses

    sim = simulate_dataset(400, 12, np.random.default_rng(2), missing_rate=0.1)
    rm = from_scored(sim.responses)
    params = pd.DataFrame({"item_id": list(rm.item_ids), "a": sim.items.a, "b": sim.items.b, "c": 0.0, "D": 1.0})
    by_matrix = score_responses(rm, rm.item_ids, params, "eap")
    by_floats = score_responses(rm.scored, rm.item_ids, params, "eap")
    np.testing.assert_allclose(by_matrix.theta, by_floats.theta, atol=1e-12)
    np.testing.assert_array_equal(by_matrix.n_answered, by_floats.n_answered)
