"""The standard carried honestly (issue 13): bank-scale parameters only, the parameter sets named, NEAT
observed-score equating beside the IRT cut, and `score --form` without a standard.

Known truth: 56 2PL items; form OLD = items 1–40, form NEW = items 1–24 (the anchor block) + 41–56, whose
new items are 0.3 logit harder. Year 1 (OLD): 3,000 candidates θ ~ N(0, 1), a free calibration defines the
bank scale. Year 2 (NEW): 3,000 candidates θ ~ N(0.4, 1), a fixed-anchor calibration puts the new items on
the bank scale. The true new-form raw cut is ⌈TCC_NEW(θ_c)⌉ under the generating parameters.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from cli import main
from itembank.importing import import_frameworks, import_items
from itembank.model import Form, FormItem
from itembank.store import Bank
from psychometrics.equating import equipercentile_equating, frequencies
from psychometrics.equating.classical import EquatingResult
from psychometrics.equating.cuts import compare_cuts, cut_through_equating
from psychometrics.irt.equating import raw_cut_from_theta
from psychometrics.irt.estimation import calibrate
from psychometrics.irt.models import ItemParameters
from psychometrics.simulate import simulate_items, simulate_responses
from tests.itembank.conftest import FRAMEWORK_TOML, item_row, write_rows

THETA_CUT = 0.3
N = 3000
IDS = [f"T-{k:04d}" for k in range(1, 61)]  # 57–60 are never calibrated
OLD = IDS[:40]
NEW = IDS[:24] + IDS[40:56]
ANCHOR = IDS[:24]


def _responses_csv(path, ids, x):
    frame = pd.DataFrame(np.where(x == 1, "B", "A"), columns=ids)  # every item's key is B
    frame.insert(0, "candidate_id", [f"C{k:05d}" for k in range(len(x))])
    frame.to_csv(path, index=False)
    return path


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("carry")
    rng = np.random.default_rng(2027)
    items = simulate_items(56, rng, model="2pl")
    b = items.b.copy()
    b[40:] += 0.3
    truth = {i: (a, bb) for i, a, bb in zip(IDS, items.a, b)}

    def params(ids):
        return ItemParameters(tuple(ids), np.array([truth[i][0] for i in ids]), np.array([truth[i][1] for i in ids]),
                              np.zeros(len(ids)), items.D)

    p_old, p_new = params(OLD), params(NEW)
    th_old, th_new = rng.normal(0.0, 1.0, N), rng.normal(0.4, 1.0, N)
    x_old = simulate_responses(th_old, p_old.a, p_old.b, rng=rng, D=items.D)
    x_new = simulate_responses(th_new, p_new.a, p_new.b, rng=rng, D=items.D)

    bank_path = tmp / "bank.db"
    (tmp / "tst.toml").write_text(FRAMEWORK_TOML, encoding="utf-8")
    with Bank.create(bank_path, user="t") as bank:
        import_frameworks(bank, tmp / "tst.toml")
        import_items(bank, write_rows(tmp / "items.json", [item_row(i) for i in IDS]))
        for form_id, ids in (("OLD", OLD), ("NEW", NEW), ("PART", IDS[:20] + IDS[56:60]),
                             ("FEW", IDS[:5] + IDS[24:40])):
            bank.save_form(Form(form_id, form_id, tuple(FormItem(k + 1, i, 1) for k, i in enumerate(ids))))
        bank.add_administration("OLD-2026", "OLD", n_candidates=N)
        bank.add_administration("NEW-2027", "NEW", n_candidates=N)
        year1 = calibrate(x_old, "2pl", item_ids=OLD, D=items.D, standard_errors=False)
        bank.save_parameter_set(year1.to_frame(), model="2pl", D=items.D, method="free", scale="bank",
                                administration_id="OLD-2026", label="year 1")
        held = bank.item_parameters(ANCHOR).set_index("item_id")
        anchors = {i: (held.loc[i, "a"], held.loc[i, "b"], 0.0) for i in ANCHOR}
        year2 = calibrate(x_new, "2pl", item_ids=NEW, D=items.D, anchors=anchors, standard_errors=False)
        new_only = year2.to_frame()
        new_only = new_only[~new_only["item_id"].isin(ANCHOR)]
        bank.save_parameter_set(new_only, model="2pl", D=items.D, method="fixed-anchor", scale="bank",
                                administration_id="NEW-2027", label="year 2")
        # parameters on a scale of their own do not count for the bank scale
        bank.save_parameter_set(pd.DataFrame({"item_id": IDS[56:60], "a": 1.0, "b": 0.0}), model="2pl",
                                D=items.D, method="free", scale="own:PART", label="own scale")
    return {"tmp": tmp, "bank": bank_path, "p_old": p_old, "p_new": p_new, "x_old": x_old, "x_new": x_new,
            "old_csv": _responses_csv(tmp / "old.csv", OLD, x_old),
            "new_csv": _responses_csv(tmp / "new.csv", NEW, x_new)}


def _run(world, *args):
    res = CliRunner().invoke(main, ["--bank", str(world["bank"]), *args])
    return res


@pytest.fixture(scope="module")
def standard(world):
    res = _run(world, "standard", "set", "PSS", "--theta", str(THETA_CUT))
    assert res.exit_code == 0, res.output
    return "PSS"


# ---- numerics ---------------------------------------------------------------------------------------------------
def test_cut_through_equating_by_hand():
    x = np.arange(11, dtype=float)
    identity = EquatingResult("identity", x, x.copy(), np.full(11, np.nan))
    shifted = EquatingResult("shifted", x, x + 0.6, np.full(11, np.nan))
    assert cut_through_equating(identity, 5) == 5
    assert cut_through_equating(shifted, 5) == 4            # round(4 + 0.6) = 5 reaches the cut
    assert cut_through_equating(shifted, 5, "exact") == 5   # 4.6 < 5 ≤ 5.6
    assert cut_through_equating(shifted, 12) == 11          # nobody reaches it: K + 1
    table = compare_cuts({"shifted": shifted, "identity": identity}, 5, 5).table
    assert table.set_index("method")["difference_from_irt"].to_dict() == {"shifted": -1, "identity": 0, "irt": 0}
    assert compare_cuts({"identity": identity}, 5, 5).sentence().startswith("The methods agree within 1 raw point")
    far = compare_cuts({"tucker": shifted}, 5, 8)
    assert far.max_difference == 4 and far.sentence().startswith("Tucker and IRT differ by 4 raw points (4 vs 8)")


def test_known_truth_neat_methods_and_irt_agree_and_random_groups_misses(world, standard):
    p_old, p_new = world["p_old"], world["p_new"]
    true_old = raw_cut_from_theta(THETA_CUT, p_old)
    true_new = raw_cut_from_theta(THETA_CUT, p_new)
    out = world["tmp"] / "eq.csv"
    res = _run(world, "standard", "apply", standard, "--form", "NEW", "--equate-from", "OLD", "--responses",
               str(world["new_csv"]), "--old-responses", str(world["old_csv"]), "--equating-out", str(out))
    assert res.exit_code == 0, res.output
    assert "Parameters: set 1 (administration OLD-2026, free, defines the bank scale, 24 items), " \
           "set 2 (administration NEW-2027, fixed-anchor, 16 items)." in res.output
    assert "through 24 anchor items" in res.output and f"Wrote {out}." in res.output
    cuts = pd.read_csv(out).set_index("method")
    irt = int(cuts.loc["irt", "new_raw_cut"])
    assert abs(irt - true_new) <= 1
    for method in ("tucker", "chained_linear", "chained_equipercentile", "frequency_estimation"):
        assert abs(cuts.loc[method, "new_raw_cut"] - true_new) <= 2, method
    assert int(cuts["old_raw_cut"].iloc[0]) in (true_old - 1, true_old, true_old + 1)
    # Random groups: the same totals equated as if the two groups were equally able (the anchor ignored)
    x_new, x_old = world["x_new"], world["x_old"]
    rg = equipercentile_equating(frequencies(x_new.sum(axis=1), 40), frequencies(x_old.sum(axis=1), 40))
    rg_cut = cut_through_equating(rg, int(cuts["old_raw_cut"].iloc[0]))
    neat_miss = max(abs(cuts.loc[m, "new_raw_cut"] - true_new)
                    for m in ("tucker", "chained_linear", "chained_equipercentile", "frequency_estimation"))
    assert abs(rg_cut - true_new) >= 2 and abs(rg_cut - true_new) > neat_miss


def test_standard_apply_names_the_parameter_sets(world, standard):
    res = _run(world, "standard", "apply", standard, "--form", "OLD")
    assert res.exit_code == 0, res.output
    assert "Parameters: set 1 (administration OLD-2026, free, defines the bank scale, 40 items)." in res.output


# ---- errors: one sentence, exit 2, nothing written -------------------------------------------------------------
def _one_sentence_error(res, *needles):
    assert res.exit_code == 2, res.output
    text = res.output.strip()
    assert len(text.splitlines()) == 1, text
    for needle in needles:
        assert needle in text, text


def test_form_without_bank_scale_parameters_is_refused_in_one_sentence(world, standard):
    out = world["tmp"] / "part.csv"
    res = _run(world, "standard", "apply", standard, "--form", "PART", "--out", str(out))
    _one_sentence_error(res, "4 of the 24 scored items of form PART have no IRT parameters on the bank scale "
                             "(T-0057, T-0058, T-0059, …): calibrate this form's responses onto the bank scale "
                             "first: `certbank calibrate RESPONSES --form PART --model 3pl --out params.csv "
                             "--save --administration ID`.")
    assert not out.exists()
    res = _run(world, "score", str(world["new_csv"]), "--form", "PART", "--out", str(out))
    _one_sentence_error(res, "4 of the 24 scored items of form PART")
    assert not out.exists()


def test_too_few_anchor_items(world, standard):
    out, conv = world["tmp"] / "few-eq.csv", world["tmp"] / "few-conv.csv"
    res = _run(world, "standard", "apply", standard, "--form", "FEW", "--equate-from", "NEW", "--responses",
               str(world["new_csv"]), "--old-responses", str(world["new_csv"]), "--equating-out", str(out),
               "--out", str(conv))
    _one_sentence_error(res, "Forms FEW and NEW share 5 scored items", "at least 10")
    assert not out.exists() and not conv.exists()


def test_responses_of_the_wrong_form(world, standard):
    out, conv = world["tmp"] / "wrong-eq.csv", world["tmp"] / "wrong-conv.csv"
    res = _run(world, "standard", "apply", standard, "--form", "NEW", "--equate-from", "OLD", "--responses",
               str(world["old_csv"]), "--old-responses", str(world["old_csv"]), "--equating-out", str(out),
               "--out", str(conv))
    _one_sentence_error(res, "is not the responses of form NEW: 16 of its 40 scored items have no column "
                             "(T-0041, T-0042, T-0043, …) and it has columns for 16 items of form OLD only")
    assert not out.exists() and not conv.exists()
    res = _run(world, "standard", "apply", standard, "--form", "NEW", "--equate-from", "OLD",
               "--responses", str(world["new_csv"]), "--equating-out", str(out))
    _one_sentence_error(res, "--equate-from OLD needs --old-responses")
    res = _run(world, "standard", "apply", standard, "--form", "NEW", "--equating-out", str(out))
    _one_sentence_error(res, "go with --equate-from")
    assert not out.exists()


# ---- score --form without a standard ----------------------------------------------------------------------------
def test_score_form_without_a_standard(world):
    out = world["tmp"] / "thetas.csv"
    res = _run(world, "score", str(world["new_csv"]), "--form", "NEW", "--administration", "NEW-2027",
               "--out", str(out))
    assert res.exit_code == 0, res.output
    assert "Administration NEW-2027." in res.output and "set 2 (administration NEW-2027, fixed-anchor, 16 items)" \
        in res.output
    thetas = pd.read_csv(out)
    assert list(thetas.columns[:5]) == ["candidate_id", "raw", "n_answered", "theta", "se"]
    assert (thetas["raw"].to_numpy() == world["x_new"].sum(axis=1)).all()
    assert 0.25 < thetas["theta"].mean() < 0.55  # the year-2 population is N(0.4, 1) on the bank scale
    assert (thetas["se"] > 0).all()
    # --administration alone: its form is used
    res = _run(world, "score", str(world["new_csv"]), "--administration", "NEW-2027", "--method", "wle",
               "--out", str(out))
    assert res.exit_code == 0, res.output
    bad = world["tmp"] / "bad-thetas.csv"
    res = _run(world, "score", str(world["new_csv"]), "--form", "NEW", "--administration", "OLD-2026",
               "--out", str(bad))
    _one_sentence_error(res, "Administration OLD-2026 delivered form OLD, not NEW")
    res = _run(world, "score", str(world["new_csv"]), "--form", "NEW", "--administration", "NOPE",
               "--out", str(bad))
    assert res.exit_code == 2 and "There is no administration 'NOPE'" in res.output
    assert not bad.exists()
