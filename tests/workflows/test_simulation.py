"""`certbank simulate`: a practice administration of a bank form that the rest of the CLI accepts as is."""
from __future__ import annotations

import numpy as np
import pandas as pd
from click.testing import CliRunner

from cli import main
from itembank.store import Bank
from psychometrics.irt.models import probability


def run(bank, *args):
    return CliRunner().invoke(main, ["--bank", str(bank), "--user", "t", *map(str, args)])


def test_simulated_responses_follow_the_bank_parameters_and_feed_the_cycle(tmp_path):
    bank = tmp_path / "bank.db"
    assert run(bank, "init", "--sample").exit_code == 0
    made = run(bank, "assemble", "default", "--forms", "1", "--seed", "3", "--name", "P")
    assert made.exit_code == 0, made.output
    rng = np.random.default_rng(5)
    with Bank.open(bank, user="t") as b:
        form = b.get_form("P-A")
        items = [fi.item_id for fi in form.items]
        truth = pd.DataFrame({"item_id": items, "a": rng.lognormal(0, 0.2, len(items)),
                              "b": rng.normal(0, 1, len(items)), "c": 0.0})
        b.save_item_parameters(truth.iloc[:100], model="2pl", D=1.0, calibration_label="known")
    out = run(bank, "simulate", "--form", "P-A", "--out", tmp_path / "r.csv", "--candidates", "4000",
              "--mean", "0.5", "--seed", "9", "--ratings", tmp_path / "ratings.csv")
    assert out.exit_code == 0, out.output
    assert "100 items from the bank's parameters, 30 without bank parameters drawn" in out.output
    frame = pd.read_csv(tmp_path / "r.csv", dtype=str, keep_default_na=False)
    assert list(frame.columns[3:]) == items and (frame["form_id"] == "P-A").all()
    with Bank.open(bank, user="t") as b:
        key = b.form_key("P-A")
    # each item's share of keyed answers ≈ its expected P under N(0.5, 1) (quadrature of the known IRF)
    known = truth.iloc[:100]
    nodes = np.linspace(-5.5, 6.5, 241)
    weights = np.exp(-0.5 * (nodes - 0.5) ** 2)
    weights /= weights.sum()
    expected = weights @ probability(nodes, known["a"].to_numpy(), known["b"].to_numpy(), known["c"].to_numpy())
    answered = frame[known["item_id"]]
    observed = np.array([(answered[i] == key[i]).sum() / max((answered[i] != "").sum(), 1) for i in known["item_id"]])
    assert np.max(np.abs(observed - expected)) < 0.04
    # the file is an administration the rest of the cycle accepts
    res = run(bank, "analyze", tmp_path / "r.csv", "--form", "P-A", "--out", tmp_path / "a", "--save-to-bank")
    assert res.exit_code == 0, res.output
    res = run(bank, "calibrate", tmp_path / "r.csv", "--form", "P-A", "--model", "2pl", "--out",
              tmp_path / "c" / "params.csv", "--save")
    assert res.exit_code == 0 and "On the bank scale" in res.output, res.output
    res = run(bank, "cutscore", "angoff", tmp_path / "ratings.csv", "--form", "P-A", "--out", tmp_path / "ang")
    assert res.exit_code == 0, res.output


def test_bad_input_is_one_sentence_and_writes_nothing(tmp_path):
    bank = tmp_path / "bank.db"
    assert run(bank, "init", "--sample").exit_code == 0
    res = run(bank, "simulate", "--form", "NOPE", "--out", tmp_path / "r.csv")
    assert res.exit_code == 2 and "NOPE" in res.output and "Traceback" not in res.output
    assert not (tmp_path / "r.csv").exists()
