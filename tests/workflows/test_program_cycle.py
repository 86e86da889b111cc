"""A certification program run year after year on one bank, through the CLI only, against a known truth.

Year 1 (3,000 candidates, θ ~ N(0, 1)) defines the bank scale; year 2's population is N(+0.4, 1) on a new
form assembled from the shipped blueprint, anchored to year 1's form. The truth is the generating 2PL
parameters (on the scale of year 1's population) and the θ cut; the year-2 raw cut and pass rate certbank
reports are compared with it, and with what a naive separate calibration of year 2 would have given.
"""
from __future__ import annotations

import re

import numpy as np
import pandas as pd
from click.testing import CliRunner

from cli import main
from itembank.store import Bank
from psychometrics.irt.models import ItemParameters
from psychometrics.simulate import simulate_option_choices
from psychometrics.standards.scaling import conversion_table

THETA_CUT = -0.3
N_CANDIDATES = 3000


def run(bank, *args):
    res = CliRunner().invoke(main, ["--bank", str(bank), "--user", "psychometrician", *map(str, args)])
    return res


def ok(bank, *args) -> str:
    res = run(bank, *args)
    assert res.exit_code == 0, res.output
    return res.output


def truth_for(bank, seed: int = 11) -> pd.DataFrame:
    """Generating 2PL parameters of every bank item, on year 1's scale."""
    rng = np.random.default_rng(seed)
    with Bank.open(bank, user="t") as b:
        ids = b.item_pool()["item_id"].tolist()
    return pd.DataFrame({"a": rng.lognormal(0.1, 0.25, len(ids)), "b": rng.normal(-0.3, 0.9, len(ids))},
                        index=ids)


def simulate_form(bank, form_id, truth, mean, rng, path, shift=None, standardize=False):
    """Option-label responses of N(mean, 1) candidates to every item of a bank form (pretest included);
    ``shift`` {item_id: Δb} makes an item harder this year (a drifted anchor). Returns the true θ.

    ``standardize``: rescale the drawn θ to mean 0, SD 1 exactly. Year 1 defines the bank scale as its own
    population's N(0, 1); standardizing its sample makes the generating scale that same scale, so the test
    measures what certbank does across years and not the 0.02-logit sampling error of one year-1 mean
    (a 120-item form's TCC rises about 25 raw points per logit near the cut)."""
    with Bank.open(bank, user="t") as b:
        form = b.get_form(form_id)
        key, options = b.form_key(form_id), b.form_options(form_id)
    items = [fi.item_id for fi in form.items]
    theta = rng.normal(mean, 1.0, N_CANDIDATES)
    if standardize:
        theta = (theta - theta.mean()) / theta.std()
    bvals = truth.loc[items, "b"].to_numpy() + np.array([(shift or {}).get(i, 0.0) for i in items])
    correct = np.array([options[i].index(key[i]) for i in items])
    choice = simulate_option_choices(theta, truth.loc[items, "a"].to_numpy(), bvals, correct_options=correct,
                                     n_options=np.array([len(options[i]) for i in items]), rng=rng)
    labels = np.array(list("ABCDEF"))[choice]
    frame = pd.DataFrame(labels, columns=items)
    frame.insert(0, "language", np.where(rng.random(N_CANDIDATES) < 1 / 3, "es", "en"))
    frame.insert(0, "candidate_id", [f"{form_id}-{k:05d}" for k in range(N_CANDIDATES)])
    frame.to_csv(path, index=False)
    return theta


def scored_items(bank, form_id):
    with Bank.open(bank, user="t") as b:
        return list(b.get_form(form_id).scored_item_ids)


def true_raw_cut(truth, items) -> int:
    params = ItemParameters(tuple(items), truth.loc[items, "a"].to_numpy(), truth.loc[items, "b"].to_numpy(),
                            np.zeros(len(items)), 1.0)
    return int(conversion_table(params, THETA_CUT).attrs["raw_cut"])


def new_form(output: str) -> str:
    return re.search(r"Saved as draft: (\S+)", output).group(1).split(",")[0]


def year_one(tmp_path):
    """A sample bank after year 1: form published, analysed and calibrated (defining the bank scale)."""
    bank = tmp_path / "bank.db"
    ok(bank, "init", "--sample")
    truth = truth_for(bank)
    rng = np.random.default_rng(2026)
    out = ok(bank, "assemble", "default", "--forms", "1", "--seed", "1", "--name", "Y1")
    form1 = new_form(out)
    ok(bank, "forms", "approve", form1)
    ok(bank, "forms", "publish", form1)
    simulate_form(bank, form1, truth, 0.0, rng, tmp_path / "y1.csv", standardize=True)
    ok(bank, "analyze", tmp_path / "y1.csv", "--form", form1, "--out", tmp_path / "a1", "--save-to-bank",
       "--administration", "Y1-2026")
    out = ok(bank, "calibrate", tmp_path / "y1.csv", "--form", form1, "--model", "2pl", "--out",
             tmp_path / "c1" / "params.csv", "--save", "--administration", "Y1-2026")
    assert "defines the bank scale" in out
    ok(bank, "standard", "set", "PSS", "--theta", THETA_CUT)
    return bank, truth, form1, rng


def year_two(tmp_path, bank, truth, form1, rng, shift_anchor=False):
    out = ok(bank, "assemble", "default", "--forms", "1", "--seed", "2", "--name", "Y2")
    form2 = new_form(out)
    ok(bank, "forms", "approve", form2)
    ok(bank, "forms", "publish", form2)
    shared = sorted(set(scored_items(bank, form1)) & set(scored_items(bank, form2)))
    shift = {shared[0]: 1.0} if shift_anchor else None
    theta = simulate_form(bank, form2, truth, 0.4, rng, tmp_path / "y2.csv", shift=shift)
    ok(bank, "analyze", tmp_path / "y2.csv", "--form", form2, "--out", tmp_path / "a2", "--save-to-bank",
       "--administration", "Y2-2027")
    out = ok(bank, "calibrate", tmp_path / "y2.csv", "--form", form2, "--model", "2pl", "--out",
             tmp_path / "c2" / "params.csv", "--save", "--administration", "Y2-2027")
    ok(bank, "standard", "apply", "PSS", "--form", form2, "--out", tmp_path / "conv2.csv")
    ok(bank, "score", tmp_path / "y2.csv", "--form", form2, "--standard", "PSS", "--out", tmp_path / "s2.csv")
    return form2, theta, shared, shift, out


def test_year_two_cut_and_pass_rate_match_the_truth_and_naive_calibration_does_not(tmp_path):
    bank, truth, form1, rng = year_one(tmp_path)
    form2, theta, shared, _, out = year_two(tmp_path, bank, truth, form1, rng)
    assert len(shared) >= 24  # the blueprint's anchor block
    assert "On the bank scale" in out and "Stocking–Lord" in out
    items2 = scored_items(bank, form2)
    truth_cut = true_raw_cut(truth, items2)
    conv = pd.read_csv(tmp_path / "conv2.csv")
    our_cut = int(conv.loc[conv["passed"], "raw"].min())
    assert abs(our_cut - truth_cut) <= 1, (our_cut, truth_cut)
    scores = pd.read_csv(tmp_path / "s2.csv")
    pass_rate = (scores["result"] == "pass").mean()
    true_share = (theta >= THETA_CUT).mean()
    assert abs(pass_rate - true_share) <= 0.02, (pass_rate, true_share)

    # the naive route: calibrate year 2 on its own and apply the θ cut to those parameters
    key = tmp_path / "key2.csv"
    with Bank.open(bank, user="t") as b:
        pd.DataFrame(list(b.form_key(form2).items()), columns=["item_id", "key"]).to_csv(key, index=False)
    ok(bank, "calibrate", tmp_path / "y2.csv", "--key", key, "--model", "2pl", "--out", tmp_path / "naive" / "p.csv")
    naive = pd.read_csv(tmp_path / "naive" / "p.csv").set_index("item_id").loc[items2].reset_index()
    naive[["item_id", "a", "b", "c"]].to_csv(tmp_path / "naive" / "scored.csv", index=False)
    ok(bank, "standard", "apply", "PSS", "--params", tmp_path / "naive" / "scored.csv", "--out",
       tmp_path / "naive-conv.csv")
    nconv = pd.read_csv(tmp_path / "naive-conv.csv")
    naive_cut = int(nconv.loc[nconv["passed"], "raw"].min())
    assert naive_cut - truth_cut >= 4, (naive_cut, truth_cut)  # a 0.4-SD abler year raises the naive cut

    # nothing overwritten: both calibrations are parameter sets of their administrations
    with Bank.open(bank, user="t") as b:
        sets = b.parameter_sets()
        assert list(sets["administration_id"]) == ["Y1-2026", "Y2-2027"]
        assert list(sets["method"]) == ["free", "stocking-lord"]
        current = b.item_parameters(shared)
        assert set(current["administration_id"]) == {"Y1-2026"}  # anchors keep their bank values
        history = b.item_statistics_history(shared[0])
        assert list(history.loc[history["group"] == "all", "administration_id"]) == ["Y1-2026", "Y2-2027"]


def test_a_drifted_anchor_is_released_and_the_cut_stays_right(tmp_path):
    bank, truth, form1, rng = year_one(tmp_path)
    form2, theta, shared, shift, out = year_two(tmp_path, bank, truth, form1, rng, shift_anchor=True)
    drifted = next(iter(shift))
    anchors = pd.read_csv(tmp_path / "c2" / "anchors.csv")
    assert anchors.loc[anchors["released"], "item_id"].tolist() == [drifted]
    assert f"{drifted} released for drift" in out
    truth_cut = true_raw_cut(truth.assign(b=truth["b"] + pd.Series(shift).reindex(truth.index).fillna(0.0)),
                             scored_items(bank, form2))
    conv = pd.read_csv(tmp_path / "conv2.csv")
    assert abs(int(conv.loc[conv["passed"], "raw"].min()) - truth_cut) <= 1
    with Bank.open(bank, user="t") as b:
        record = b.parameter_set(int(b.parameter_sets()["parameter_set_id"].max()))
        current = b.item_parameters([drifted])
    assert [r["item_id"] for r in record.anchors["released"]] == [drifted]
    assert current["administration_id"].tolist() == ["Y2-2027"]  # the released anchor is re-estimated


def test_bad_input_leaves_the_bank_unchanged(tmp_path):
    bank, truth, form1, rng = year_one(tmp_path)
    before = bank.read_bytes()

    res = run(bank, "calibrate", tmp_path / "y1.csv", "--form", form1, "--out", tmp_path / "x" / "p.csv",
              "--save", "--administration", "Y1-2027")
    assert res.exit_code == 2 and "already attached to administration 'Y1-2026'" in res.output
    res = run(bank, "items", "promote", "--administration", "NOPE")
    assert res.exit_code == 2 and "no administration 'NOPE'" in res.output
    res = run(bank, "administrations", "show", "NOPE")
    assert res.exit_code == 2 and "Traceback" not in res.output
    assert bank.read_bytes() == before and not (tmp_path / "x").exists()


def test_three_years_on_one_bank_nothing_repeats_nothing_overwritten(tmp_path):
    bank, truth, form1, rng = year_one(tmp_path)
    form2, *_ = year_two(tmp_path, bank, truth, form1, rng)
    out = ok(bank, "assemble", "default", "--forms", "1", "--seed", "3", "--name", "Y3")
    form3 = new_form(out)
    ok(bank, "forms", "approve", form3)
    ok(bank, "forms", "publish", form3)
    simulate_form(bank, form3, truth, 0.6, rng, tmp_path / "y3.csv")
    ok(bank, "analyze", tmp_path / "y3.csv", "--form", form3, "--out", tmp_path / "a3", "--save-to-bank",
       "--administration", "Y3-2028")
    ok(bank, "calibrate", tmp_path / "y3.csv", "--form", form3, "--model", "2pl", "--out",
       tmp_path / "c3" / "params.csv", "--save", "--administration", "Y3-2028")

    forms = [set(scored_items(bank, f)) for f in (form1, form2, form3)]
    assert len({frozenset(f) for f in forms}) == 3  # no form repeats another
    assert len(forms[0] & forms[1]) >= 24 and len(forms[1] & forms[2]) >= 24  # anchored to the latest form
    assert len(forms[1] & forms[2]) <= 30 and len(forms[0] & forms[2]) <= 30  # the blueprint's overlap cap
    with Bank.open(bank, user="t") as b:
        sets = b.parameter_sets()
        assert list(sets["administration_id"]) == ["Y1-2026", "Y2-2027", "Y3-2028"]
        assert sets["accepted"].all() and list(sets["method"]) == ["free", "stocking-lord", "stocking-lord"]
        stats = b.statistics_table()
        assert stats["administration_id"].notna().all()
        assert set(stats["administration_id"]) == {"Y1-2026", "Y2-2027", "Y3-2028"}
        assert list(b.list_administrations()["administration_id"]) == ["Y1-2026", "Y2-2027", "Y3-2028"]
        # every item of year 3 has bank-scale parameters traceable to a set of one of the administrations
        current = b.item_parameters(sorted(forms[2]))
        assert len(current) == len(forms[2]) and current["parameter_set_id"].notna().all()
        # items on all three forms keep year 1's estimates unless a later year released them for drift (and
        # then that year's set says so); year 1's set is still there, whole
        kept = b.item_parameters(sorted(forms[0] & forms[1] & forms[2]))
        released = {r["item_id"]: s.administration_id for s in (b.parameter_set(int(i)) for i in
                    sets["parameter_set_id"]) for r in (s.anchors or {}).get("released", [])}
        for row in kept.itertuples(index=False):
            assert row.administration_id == "Y1-2026" or released.get(row.item_id) == row.administration_id
        assert b.parameter_set(int(sets["parameter_set_id"].iloc[0])).n_items == 130


def test_a_calibration_whose_anchors_all_drifted_is_refused(tmp_path):
    bank, truth, form1, rng = year_one(tmp_path)
    out = ok(bank, "assemble", "default", "--forms", "1", "--seed", "2", "--name", "Y2")
    form2 = new_form(out)
    ok(bank, "forms", "approve", form2)
    ok(bank, "forms", "publish", form2)
    shared = sorted(set(scored_items(bank, form1)) & set(scored_items(bank, form2)))
    shift = {item: (1.5 if k % 2 else -1.5) for k, item in enumerate(shared)}  # every anchor moved
    simulate_form(bank, form2, truth, 0.4, rng, tmp_path / "y2.csv", shift=shift)
    before = bank.read_bytes()
    res = run(bank, "calibrate", tmp_path / "y2.csv", "--form", form2, "--model", "2pl", "--out",
              tmp_path / "c2" / "params.csv", "--save", "--administration", "Y2-2027")
    assert res.exit_code == 2, res.output
    assert "anchor set cannot hold the scale" in res.output and "Traceback" not in res.output
    assert bank.read_bytes() == before and not (tmp_path / "c2").exists()


def test_an_anchor_rule_the_bank_cannot_meet_is_one_sentence(tmp_path):
    # Year 1's form was published but never analysed or calibrated: it cannot supply calibrated anchors.
    bank = tmp_path / "bank.db"
    ok(bank, "init", "--sample")
    form1 = new_form(ok(bank, "assemble", "default", "--forms", "1", "--seed", "1", "--name", "Y1"))
    ok(bank, "forms", "approve", form1)
    ok(bank, "forms", "publish", form1)
    before = bank.read_bytes()
    res = run(bank, "assemble", "default", "--forms", "1", "--seed", "2", "--name", "Y2")
    assert res.exit_code == 2 and "anchor" in res.output and "Traceback" not in res.output
    assert bank.read_bytes() == before
