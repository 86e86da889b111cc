"""Standard setting: hand-worked Angoff, Bookmark, Hofstee, Beuk and impact examples; ratings-file problems."""
import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from certbank_core.errors import InputError
from psychometrics.irt.equating import ItemParameters
from psychometrics.standards import setting as ss
from workflows import standard_files as ssf

RATINGS = np.array([[0.5, 0.6, 0.7, 0.8],   # rater sum 2.6
                    [0.4, 0.5, 0.6, 0.7],   # 2.2
                    [0.6, 0.7, 0.8, 0.9]])  # 3.0


def test_angoff_hand_worked():
    res = ss.modified_angoff(RATINGS, p_values=[0.3, 0.5, 0.7, 0.9])
    np.testing.assert_allclose(res.rater_cuts, [2.6, 2.2, 3.0])
    assert res.cut_raw == pytest.approx(2.6)
    assert res.cut_percent == pytest.approx(65.0)
    # SD of (2.6, 2.2, 3.0) with n − 1: sqrt((0 + .16 + .16)/2) = .4; SE = .4/√3.
    assert res.sd == pytest.approx(0.4)
    assert res.se == pytest.approx(0.4 / np.sqrt(3))
    # Each rater's ratings rise linearly with the p-values: correlation 1.
    np.testing.assert_allclose(res.reality_correlation, 1.0)
    assert not res.outlier.any()


def test_angoff_rounds_and_change():
    round1 = RATINGS - 0.1  # every rater 0.4 lower in round 1
    res = ss.modified_angoff(np.stack([round1, RATINGS]), rounds=[1, 2])
    rs = res.round_summary
    assert rs["cut_raw"].tolist() == pytest.approx([2.2, 2.6])
    assert rs["change_from_previous"].iloc[1] == pytest.approx(0.4)
    assert rs["mean_abs_rater_change"].iloc[1] == pytest.approx(0.4)
    assert res.cut_raw == pytest.approx(2.6)  # the final round decides


def test_angoff_flags_outlying_rater_and_failed_reality_check():
    r = np.tile([0.6, 0.65, 0.7, 0.75], (6, 1)) + np.linspace(-0.02, 0.02, 6)[:, None]
    r[5] = [0.95, 0.97, 0.99, 0.99]  # far above the panel
    res = ss.modified_angoff(r, p_values=[0.3, 0.5, 0.7, 0.9])
    assert res.outlier.tolist() == [False] * 5 + [True]
    r2 = RATINGS.copy()
    r2[1] = [0.8, 0.7, 0.6, 0.5]  # rates the hardest items easiest
    res2 = ss.modified_angoff(r2, p_values=[0.3, 0.5, 0.7, 0.9])
    assert res2.reality_correlation[1] == pytest.approx(-1.0)
    assert res2.outlier[1]


def test_angoff_theta_cut_inverts_the_tcc():
    params = ItemParameters.from_arrays(np.ones(4), [-1.0, 0.0, 0.0, 1.0])
    res = ss.modified_angoff(RATINGS, params=params)
    tcc = np.sum(1 / (1 + np.exp(-(res.theta_cut - np.array([-1.0, 0.0, 0.0, 1.0])))))
    assert tcc == pytest.approx(2.6, abs=1e-9)


def test_angoff_cut_below_chance_score_is_an_input_error():
    params = ItemParameters.from_arrays(np.ones(4), np.zeros(4), np.full(4, 0.7))
    with pytest.raises(InputError, match="chance score"):
        ss.modified_angoff(RATINGS, params=params)


def _write(tmp_path, name, rows):
    path = tmp_path / name
    pd.DataFrame(rows).to_csv(path, index=False)
    return path


def test_read_long_ratings_with_rounds_and_metadata(tmp_path):
    rows = []
    for rnd, shift in ((1, -0.1), (2, 0.0)):
        for j, rater in enumerate(["R1", "R2", "R3"]):
            for i, item in enumerate(["I1", "I2", "I3", "I4"]):
                rows.append({"rater_id": rater, "item_id": item, "rating": round(RATINGS[j, i] + shift, 2),
                             "round": rnd, "role": "peer" if j else "supervisor"})
    path = _write(tmp_path, "ratings.csv", rows[::-1])  # row order must not matter
    data = ssf.read_angoff_ratings(path, item_ids=["I1", "I2", "I3", "I4"])
    assert data.rounds == (1, 2) and data.rater_ids == ("R1", "R2", "R3")
    np.testing.assert_allclose(data.ratings[1], RATINGS)
    res = ssf.angoff_from_file(path, item_ids=["I1", "I2", "I3", "I4"])
    assert res.cut_raw == pytest.approx(2.6)
    assert res.to_frame().set_index("rater_id").loc["R1", "role"] == "supervisor"


def test_read_wide_ratings(tmp_path):
    rows = [{"rater_id": f"R{j + 1}", **{f"I{i + 1}": RATINGS[j, i] for i in range(4)}} for j in range(3)]
    path = _write(tmp_path, "wide.csv", rows)
    res = ssf.angoff_from_file(path, item_ids=["I1", "I2", "I3", "I4"])
    assert res.cut_raw == pytest.approx(2.6)


def test_ratings_file_problems_are_all_reported_with_row_and_column(tmp_path):
    rows = [
        {"rater_id": "R1", "item_id": "I1", "rating": "0.6"},
        {"rater_id": "R1", "item_id": "I2", "rating": "1.5"},     # row 3: outside 0–1
        {"rater_id": "R1", "item_id": "I9", "rating": "0.5"},     # row 4: unknown item
        {"rater_id": "R2", "item_id": "I1", "rating": ""},        # row 5: missing rating
        {"rater_id": "RX", "item_id": "I2", "rating": "0.5"},     # row 6: unknown rater
        {"rater_id": "R2", "item_id": "I2", "rating": "abc"},     # row 7: not a number
    ]
    path = _write(tmp_path, "bad.csv", rows)
    with pytest.raises(InputError) as err:
        ssf.read_angoff_ratings(path, item_ids=["I1", "I2"], rater_ids=["R1", "R2"])
    text = str(err.value)
    assert "row 3, column 'rating': rating 1.5 is outside 0–1" in text
    assert "row 4, column 'item_id': unknown item I9" in text
    assert "row 5, column 'rating': missing rating" in text
    assert "row 6, column 'rater_id': unknown rater RX" in text
    assert "row 7, column 'rating'" in text and "not a number" in text
    # R1 lacks a valid I2 rating and R2 has no valid rating at all: reported as missing.
    assert "rater R1 has no rating in round 1 for 1 item(s): I2" in text
    assert len(err.value.problems) >= 6


def test_missing_combination_in_wide_layout(tmp_path):
    path = _write(tmp_path, "wide.csv", [{"rater_id": "R1", "I1": 0.5, "I2": "", "I7": 0.5},
                                         {"rater_id": "R2", "I1": 2, "I2": 0.4, "I7": 0.5}])
    with pytest.raises(InputError) as err:
        ssf.read_angoff_ratings(path, item_ids=["I1", "I2"])
    text = str(err.value)
    assert text.count("unknown item I7") == 1 and "row 1, column 'I7'" in text
    assert "row 2, column 'I2': missing rating" in text
    assert "row 3, column 'I1': rating 2 is outside 0–1" in text


def test_bookmark_rasch_and_3pl_hand_worked():
    b = np.array([-1.0, 0.5, 0.0, 1.2])
    rasch = ItemParameters.from_arrays(np.ones(4), b, item_ids=["A", "B", "C", "D"])
    shift = np.log(0.67 / 0.33)  # θ − b where a Rasch item reaches P = .67
    booklet = ss.ordered_item_booklet(rasch)
    assert booklet["item_id"].tolist() == ["A", "C", "B", "D"]
    np.testing.assert_allclose(booklet["rp_theta"], np.sort(b) + shift)
    res = ss.bookmark(rasch, pages=[2, 3, 3])
    np.testing.assert_allclose(res.panelist_theta, [0.0 + shift, 0.5 + shift, 0.5 + shift])
    assert res.theta_cut == pytest.approx(0.5 + shift)  # median
    three = ItemParameters.from_arrays(np.full(4, 1.5), b, np.full(4, 0.2), D=1.7)
    loc = ss.rp_location(three)
    np.testing.assert_allclose(loc, b + np.log((0.67 - 0.2) / 0.33) / (1.7 * 1.5))
    p = 0.2 + 0.8 / (1 + np.exp(-1.7 * 1.5 * (loc - b)))
    np.testing.assert_allclose(p, 0.67)


def test_bookmark_bad_pages_and_high_guessing():
    rasch = ItemParameters.from_arrays(np.ones(3), [0, 1, 2])
    with pytest.raises(InputError, match="page 5"):
        ss.bookmark(rasch, pages=[1, 5])
    guessy = ItemParameters.from_arrays(np.ones(2), [0, 1], [0.7, 0.1])
    with pytest.raises(InputError, match="lower asymptote"):
        ss.bookmark(guessy, pages=[1])


UNIFORM_SCORES = np.repeat(np.arange(10), 10)  # 10 candidates at each raw score 0..9 of a 10-item test


def test_hofstee_hand_worked():
    # Percent failing at a cut of c percent is c (10 % of candidates per point); the judges' line runs from
    # (40, 50) to (80, 10): f = 90 − c. They meet at c = 45 → raw cut 4.5 → 5; 50 % score 5 or more.
    res = ss.hofstee(UNIFORM_SCORES, 10, k_min=[35, 45], k_max=[80, 80], f_min=[10, 10], f_max=[40, 60])
    assert res.cut_percent == pytest.approx(45.0, abs=1e-6)
    assert res.cut_raw == 5
    assert res.pass_rate == pytest.approx(50.0)


def test_hofstee_without_intersection_takes_k_max():
    scores = np.full(50, 10)  # everyone perfect: nobody fails at any acceptable cut
    res = ss.hofstee(scores, 10, 40, 80, 10, 50)
    assert res.cut_percent == pytest.approx(80.0)


def test_beuk_hand_worked():
    # k̄ = 55, v̄ = 60, s_k = 7.07, s_v = 14.14 → line v = 60 − 2(c − 55); observed pass rate 100 − c.
    # 100 − c = 170 − 2c → c = 70; raw cut 7; 30 % pass.
    res = ss.beuk(UNIFORM_SCORES, 10, cut_judgments=[50, 60], pass_rate_judgments=[70, 50])
    assert res.cut_percent == pytest.approx(70.0, abs=1e-6)
    assert res.cut_raw == 7
    assert res.pass_rate == pytest.approx(30.0)
    assert res.details["slope"] == pytest.approx(-2.0)


def test_impact_at_cut_and_se_steps_by_group():
    scores = np.arange(1, 11)
    groups = np.array(["en"] * 5 + ["es"] * 5)
    out = ss.impact(scores, cut_raw=5.5, se=1.0, groups=groups)
    overall = out[out.group == "all"].set_index("shift_se")
    assert overall["raw_cut"].tolist() == [4, 5, 6, 7, 8]
    assert overall["pass_rate"].tolist() == pytest.approx([70, 60, 50, 40, 30])
    es = out[(out.group == "es") & (out.shift_se == 0)].iloc[0]
    assert es["pass_rate"] == pytest.approx(100.0) and es["n"] == 5


@settings(max_examples=30, deadline=None)
@given(st.lists(st.floats(0, 1), min_size=12, max_size=12), st.randoms())
def test_angoff_is_invariant_to_rater_order(values, rnd):
    r = np.array(values).reshape(3, 4)
    perm = list(range(3))
    rnd.shuffle(perm)
    a, b = ss.modified_angoff(r), ss.modified_angoff(r[perm])
    assert a.cut_raw == pytest.approx(b.cut_raw)
    assert 0 <= a.cut_raw <= 4


def test_normal_cut_interval_by_hand():
    # 95 %: z = 1.959964; cut 30, SE 2 → 30 ± 3.919928.
    lo, hi = ss.normal_cut_interval(30.0, 2.0)
    assert (lo, hi) == (pytest.approx(30 - 3.919928, abs=1e-6), pytest.approx(30 + 3.919928, abs=1e-6))


# ---- CLI ------------------------------------------------------------------------------------------------
from click.testing import CliRunner  # noqa: E402

from cli import main  # noqa: E402

ITEM_IDS = ["I1", "I2", "I3", "I4"]
B_VALUES = [-1.0, 0.0, 0.0, 1.0]


def _params_file(tmp_path):
    return _write(tmp_path, "params.csv", [{"item_id": i, "a": 1.0, "b": b, "c": 0.0} for i, b in zip(ITEM_IDS, B_VALUES)])


def _ratings_file(tmp_path, bad=False):
    rows = [{"rater_id": f"R{j + 1}", "item_id": i, "rating": RATINGS[j, k]}
            for j in range(3) for k, i in enumerate(ITEM_IDS)]
    if bad:
        rows[1]["rating"] = 1.7
        rows[5]["item_id"] = "I99"
    return _write(tmp_path, "ratings.csv", rows)


def test_cli_angoff_then_standard_set_and_apply(tmp_path):
    from itembank.store import Bank

    runner = CliRunner()
    bank = tmp_path / "bank.db"
    Bank.create(bank, user="t").close()
    out = tmp_path / "angoff"
    scores = _write(tmp_path, "scores.csv", [{"score": s, "language": lang} for s, lang in
                                             [(4, "en"), (3, "en"), (2, "es"), (1, "es")]])
    res = runner.invoke(main, ["--bank", str(bank), "cutscore", "angoff", str(_ratings_file(tmp_path)),
                               "--params", str(_params_file(tmp_path)), "--scores", str(scores), "--out", str(out)])
    assert res.exit_code == 0, res.output
    imp = pd.read_csv(out / "impact.csv")
    at_cut = imp[imp.shift_se == 0].set_index("group")["pass_rate"]
    assert at_cut.to_dict() == {"all": 50.0, "en": 100.0, "es": 0.0}  # raw cut ⌈2.6⌉ = 3
    summary = __import__("json").loads((out / "summary.json").read_text())
    assert summary["cut_raw"] == pytest.approx(2.6)
    raters = pd.read_csv(out / "raters.csv")
    assert raters["cut_raw"].tolist() == pytest.approx([2.6, 2.2, 3.0])
    res = runner.invoke(main, ["--bank", str(bank), "standard", "set", "PSS-2026", "--from-angoff", str(out),
                               "--export", str(tmp_path / "std.json")])
    assert res.exit_code == 0, res.output
    with Bank.open(bank, "t") as b:
        assert b.get_standard("PSS-2026")["theta_cut"] == pytest.approx(summary["theta_cut"])
    table = tmp_path / "conv.csv"
    for name in ("PSS-2026", str(tmp_path / "std.json")):
        res = runner.invoke(main, ["--bank", str(bank), "standard", "apply", name, "--params",
                                   str(_params_file(tmp_path)), "--out", str(table)])
        assert res.exit_code == 0, res.output
        assert "pass at raw 3 of 4" in res.output  # true score 2.6 at the cut → smallest raw reaching it is 3
    conv = pd.read_csv(table)
    assert conv.loc[conv.raw == 3, "scaled"].iloc[0] >= 500 > conv.loc[conv.raw == 2, "scaled"].iloc[0]


def test_cli_angoff_bad_ratings_exit_2_and_nothing_written(tmp_path):
    out = tmp_path / "angoff"
    res = CliRunner().invoke(main, ["cutscore", "angoff", str(_ratings_file(tmp_path, bad=True)),
                                    "--params", str(_params_file(tmp_path)), "--out", str(out)])
    assert res.exit_code == 2
    assert "row 3, column 'rating': rating 1.7 is outside 0–1" in res.output
    assert "row 7, column 'item_id': unknown item I99" in res.output
    assert "Traceback" not in res.output
    assert not out.exists()


class _FakeBank:
    """Just the Bank methods the standard-setting commands call."""

    def __init__(self, with_params=True):
        from itembank.model import Form, FormItem

        self.form = Form(form_id="F1", name="F1", items=tuple(FormItem(k + 1, i, 1, False) for k, i in enumerate(ITEM_IDS)),
                         blueprint_name="bp", blueprint_hash="h", status="draft", created_by="t", created_at="now")
        rows = [{"item_id": i, "a": 1.0, "b": b, "c": 0.0, "D": 1.0} for i, b in zip(ITEM_IDS, B_VALUES)]
        self.params = pd.DataFrame(rows if with_params else rows[:2])
        self.standards = {}

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def get_form(self, form_id):
        from certbank_core.errors import NotFoundError

        if form_id != "F1":
            raise NotFoundError(f"There is no form {form_id!r} in the bank.")
        return self.form

    def item_parameters(self, item_ids=None):
        return self.params[self.params.item_id.isin(list(item_ids))]

    def item_pool(self, status=None):
        return pd.DataFrame({"item_id": ITEM_IDS, "p_value": [0.9, 0.6, 0.55, 0.3]})


def test_cli_angoff_with_bank_form_and_missing_parameters(tmp_path, monkeypatch):
    import cli

    bank = _FakeBank()
    monkeypatch.setattr(cli.Context, "open_bank", lambda self, must_exist=True: bank)
    out = tmp_path / "a"
    res = CliRunner().invoke(main, ["cutscore", "angoff", str(_ratings_file(tmp_path)), "--form", "F1", "--out", str(out)])
    assert res.exit_code == 0, res.output
    raters = pd.read_csv(out / "raters.csv")
    assert raters["reality_correlation"].notna().all()  # the form's p-values came from the bank
    bank.params = bank.params.iloc[:2]
    out2 = tmp_path / "b"
    res = CliRunner().invoke(main, ["cutscore", "angoff", str(_ratings_file(tmp_path)), "--form", "F1", "--out", str(out2)])
    assert res.exit_code == 2
    assert "2 of the 4 scored items of form F1 have no IRT parameters on the bank scale (I3, I4)" in res.output
    assert "certbank calibrate RESPONSES --form F1" in res.output
    assert not out2.exists()


def test_cli_bookmark_hofstee_beuk(tmp_path):
    runner = CliRunner()
    res = runner.invoke(main, ["cutscore", "bookmark", "--params", str(_params_file(tmp_path)), "--pages", "2,3,3",
                               "--out", str(tmp_path / "bm")])
    assert res.exit_code == 0, res.output
    booklet = pd.read_csv(tmp_path / "bm" / "booklet.csv")
    assert booklet["item_id"].tolist()[0] == "I1"
    scores = _write(tmp_path, "scores.csv", [{"score": s} for s in UNIFORM_SCORES])
    hof = _write(tmp_path, "hof.csv", [{"judge": 1, "k_min": 35, "k_max": 80, "f_min": 10, "f_max": 40},
                                       {"judge": 2, "k_min": 45, "k_max": 80, "f_min": 10, "f_max": 60}])
    res = runner.invoke(main, ["cutscore", "hofstee", str(scores), str(hof), "--items", "10", "--out", str(tmp_path / "h")])
    assert res.exit_code == 0, res.output
    assert "raw 5 of 10" in res.output
    beuk_j = _write(tmp_path, "beuk.csv", [{"cut": 50, "pass_rate": 70}, {"cut": 60, "pass_rate": 50}])
    res = runner.invoke(main, ["cutscore", "beuk", str(scores), str(beuk_j), "--items", "10", "--out", str(tmp_path / "b")])
    assert res.exit_code == 0, res.output
    assert "raw 7 of 10" in res.output


def test_cli_compromise_bad_judgments_and_scores(tmp_path):
    scores = _write(tmp_path, "scores.csv", [{"score": 3}, {"score": 12}, {"score": "x"}])
    hof = _write(tmp_path, "hof.csv", [{"k_min": 35, "k_max": 180, "f_min": 10, "f_max": 40}])
    res = CliRunner().invoke(main, ["cutscore", "hofstee", str(scores), str(hof), "--items", "10",
                                    "--out", str(tmp_path / "h")])
    assert res.exit_code == 2
    assert "row 4, column 'score': 'x' is not a number" in res.output
    good_scores = _write(tmp_path, "ok.csv", [{"score": 3}, {"score": 7}])
    res = CliRunner().invoke(main, ["cutscore", "hofstee", str(good_scores), str(hof), "--items", "10",
                                    "--out", str(tmp_path / "h")])
    assert res.exit_code == 2
    assert "row 2, column 'k_max': 180 is outside 0–100" in res.output
    assert not (tmp_path / "h").exists()


def test_cli_standard_set_rejects_cut_outside_range_and_stores_nothing(tmp_path):
    from certbank_core.errors import NotFoundError
    from itembank.store import Bank

    bank = tmp_path / "bank.db"
    Bank.create(bank, user="t").close()
    res = CliRunner().invoke(main, ["--bank", str(bank), "standard", "set", "S", "--theta", "9"])
    assert res.exit_code == 2 and "outside the score range" in res.output
    with Bank.open(bank, "t") as b, pytest.raises(NotFoundError):
        b.get_standard("S")


def test_cli_standard_apply_with_decision_quality(tmp_path):
    from psychometrics.irt.equating import ItemParameters as IP

    rng = np.random.default_rng(4)
    b = np.linspace(-1.5, 1.5, 20)
    params = _write(tmp_path, "p20.csv", [{"item_id": f"Q{k}", "a": 1.0, "b": v} for k, v in enumerate(b)])
    theta = rng.normal(0, 1, 500)
    p = IP.from_arrays(np.ones(20), b).p(theta)
    scores = _write(tmp_path, "s.csv", [{"score": int(s)} for s in (rng.random(p.shape) < p).sum(1)])
    std = tmp_path / "std.json"
    std.write_text('{"theta_cut": 0.2}')
    out = tmp_path / "decision.csv"
    res = CliRunner().invoke(main, ["standard", "apply", str(std), "--params", str(params), "--scores", str(scores),
                                    "--decision-out", str(out)])
    assert res.exit_code == 0, res.output
    table = pd.read_csv(out)
    assert table["method"].tolist() == ["livingston_lewis", "huynh", "subkoviak", "lee"]
    assert table["consistency"].between(0.5, 1).all()
    bad = _write(tmp_path, "bad.csv", [{"score": 25}])
    res = CliRunner().invoke(main, ["standard", "apply", str(std), "--params", str(params), "--scores", str(bad),
                                    "--decision-out", str(tmp_path / "d2.csv")])
    assert res.exit_code == 2 and "row 2, column 'score': score 25 is outside 0–20" in res.output
    assert not (tmp_path / "d2.csv").exists()


def _responses_file(tmp_path, labels=False):
    rows = [("p1", "en", [1, 1, 1, 1]), ("p2", "es", [1, 0, 0, 0]), ("p3", "es", [1, 1, 1, 0])]
    keys = dict(zip(ITEM_IDS, "ABCD"))
    out = []
    for pid, lang, resp in rows:
        row = {"candidate_id": pid, "language": lang}
        for i, r in zip(ITEM_IDS, resp):
            row[i] = (keys[i] if r else "E") if labels else r
        out.append(row)
    return _write(tmp_path, "responses.csv", out)


def test_cli_score_against_standard_from_files(tmp_path):
    std = tmp_path / "std.json"
    std.write_text('{"theta_cut": 0.0, "scale": {"kind": "linear", "cut": 50, "low": 0, "high": 100, "slope": 10}}')
    out = tmp_path / "scores.csv"
    res = CliRunner().invoke(main, ["score", str(_responses_file(tmp_path)), "--params", str(_params_file(tmp_path)),
                                    "--standard", str(std), "--out", str(out)])
    assert res.exit_code == 0, res.output
    report = pd.read_csv(out)
    # TCC(0) of b = (−1, 0, 0, 1) is 2.0 exactly, so the raw cut is 2 under the "at least" rule.
    assert report["raw"].tolist() == [4, 1, 3]
    assert report["result"].tolist() == ["pass", "fail", "pass"]
    assert report["language"].tolist() == ["en", "es", "es"]
    assert (report.loc[report.result == "pass", "scaled"] >= 50).all() and report.loc[1, "scaled"] < 50


def test_cli_score_with_bank_form_reports_areas(tmp_path, monkeypatch):
    import cli

    bank = _FakeBank()
    bank.form_key = lambda form_id: dict(zip(ITEM_IDS, "ABCD"))
    bank.form_options = lambda form_id: {i: tuple("ABCDE") for i in ITEM_IDS}
    bank.item_pool = lambda status=None: pd.DataFrame({"item_id": ITEM_IDS, "area": ["SAMHSA.I", "SAMHSA.I", "SAMHSA.II", "SAMHSA.II"],
                                                       "p_value": [0.9, 0.6, 0.55, 0.3]})
    monkeypatch.setattr(cli.Context, "open_bank", lambda self, must_exist=True: bank)
    std = tmp_path / "std.json"
    std.write_text('{"theta_cut": 0.0}')
    out = tmp_path / "scores.csv"
    res = CliRunner().invoke(main, ["score", str(_responses_file(tmp_path, labels=True)), "--form", "F1",
                                    "--standard", str(std), "--out", str(out)])
    assert res.exit_code == 0, res.output
    report = pd.read_csv(out)
    assert report["pct_SAMHSA.I"].tolist() == [100.0, 50.0, 100.0]
    assert report["pct_SAMHSA.II"].tolist() == [100.0, 0.0, 50.0]
    res = CliRunner().invoke(main, ["score", str(_responses_file(tmp_path, labels=True)), "--form", "F1",
                                    "--out", str(tmp_path / "x.csv")])
    assert res.exit_code == 0, res.output  # without --standard: raw, θ and SE from the form's parameters
    thetas = pd.read_csv(tmp_path / "x.csv")
    assert thetas["raw"].tolist() == [4, 1, 3] and thetas["theta"].is_monotonic_increasing is False
    assert thetas.loc[0, "theta"] > thetas.loc[2, "theta"] > thetas.loc[1, "theta"]


def test_read_xlsx_ratings_with_problems(tmp_path):
    path = tmp_path / "ratings.xlsx"
    pd.DataFrame([{"rater_id": "R1", "item_id": "I1", "rating": 0.5},
                  {"rater_id": "R1", "item_id": "I2", "rating": None},
                  {"rater_id": "R2", "item_id": "I1", "rating": -0.2},
                  {"rater_id": "R2", "item_id": "I2", "rating": 0.7}]).to_excel(path, index=False)
    with pytest.raises(InputError) as err:
        ssf.read_angoff_ratings(path, item_ids=["I1", "I2"])
    text = str(err.value)
    assert "ratings.xlsx, row 3, column 'rating': missing rating for item I2" in text
    assert "row 4, column 'rating': rating -0.2 is outside 0–1" in text


def test_cli_angoff_report_workbook_and_refusal_to_overwrite(tmp_path):
    from openpyxl import load_workbook

    runner = CliRunner()
    scores = _write(tmp_path, "scores.csv", [{"score": s, "language": lang} for s, lang in
                                             [(4, "en"), (3, "en"), (2, "es"), (1, "es")]])
    report = tmp_path / "standard.xlsx"
    args = ["--bank", str(tmp_path / "none.db"), "cutscore", "angoff", str(_ratings_file(tmp_path)), "--params",
            str(_params_file(tmp_path)), "--scores", str(scores), "--out", str(tmp_path / "out"),
            "--report", str(report)]
    res = runner.invoke(main, args)
    assert res.exit_code == 0, res.output
    wb = load_workbook(report)
    assert {"Cut score", "Raters", "Impact", "Forms", "Conversion reference", "Decision quality"} <= set(wb.sheetnames)
    cut = {r[0]: r[1] for r in wb["Cut score"].iter_rows(values_only=True) if r[0]}
    assert cut["Recommended raw cut (mean of raters' cuts)"] == pytest.approx(2.6)
    before = report.read_bytes()
    res = runner.invoke(main, args)  # a second run must not replace the board's workbook silently
    assert res.exit_code == 2 and "--force" in res.output
    assert report.read_bytes() == before


def test_score_files_from_certbank_score_are_accepted(tmp_path):
    """`certbank score` writes the raw total in a column 'raw'; the score readers take it as well as 'score'."""
    from workflows.standard_files import read_raw_scores

    raw = _write(tmp_path, "scores.csv", [{"person_id": "c1", "raw": 3, "theta": 0.1},
                                          {"person_id": "c2", "raw": 1, "theta": -1.0}])
    assert read_raw_scores(raw, 4).tolist() == [3, 1]
    none = _write(tmp_path, "none.csv", [{"person_id": "c1", "total": 3}])
    with pytest.raises(InputError, match="column 'score' is missing"):
        read_raw_scores(none, 4)
