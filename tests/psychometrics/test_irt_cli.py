"""`certbank calibrate` and `certbank score` through click's CliRunner."""
import json

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from cli import main
from psychometrics.simulate import simulate_items, simulate_responses


def write_responses(path, x, item_ids):
    frame = pd.DataFrame(np.where(np.isnan(x), "", x.astype(int).astype(str)), columns=list(item_ids))
    frame.insert(0, "candidate_id", [f"C{i:05d}" for i in range(len(x))])
    frame.to_csv(path, index=False)


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    folder = tmp_path_factory.mktemp("irtcli")
    rng = np.random.default_rng(12)
    items = simulate_items(24, rng, model="2pl")
    ids = [f"PSS-{j + 1:04d}" for j in range(24)]
    theta = rng.normal(0.4, 1.1, 1500)
    x = simulate_responses(theta, items.a, items.b, rng=rng)
    write_responses(folder / "resp.csv", x, ids)
    return folder, items, ids


def test_calibrate_then_score(data):
    folder, items, ids = data
    runner = CliRunner()
    out = folder / "run1" / "params.csv"
    res = runner.invoke(main, ["calibrate", str(folder / "resp.csv"), "--model", "2pl", "--out", str(out)])
    assert res.exit_code == 0, res.output
    assert "converged" in res.output
    params = pd.read_csv(out)
    assert list(params.columns[:7]) == ["item_id", "a", "b", "c", "se_a", "se_b", "se_c"]
    assert {"s_x2", "p_adjusted", "infit", "outfit", "max_abs_q3", "D"} <= set(params.columns)
    summary = json.loads((out.parent / "calibration.json").read_text())
    for key in ("model", "D", "quadrature", "log_likelihood", "iterations", "converged", "seconds", "version"):
        assert key in summary
    assert summary["model"] == "2pl" and summary["D"] == 1.0 and summary["quadrature"]["n_nodes"] == 61
    # this cohort is N(0.4, 1.1²) but the free calibration fixes N(0, 1): b shifts, correlation stays
    assert np.corrcoef(params.b, items.b)[0, 1] > 0.98

    thetas = folder / "run1" / "thetas.csv"
    res = runner.invoke(main, ["score", str(folder / "resp.csv"), "--params", str(out), "--method", "eap",
                               "--out", str(thetas)])
    assert res.exit_code == 0, res.output
    scores = pd.read_csv(thetas)
    assert len(scores) == 1500 and scores.candidate_id.iloc[0] == "C00000"  # named as in the response file
    assert scores.theta.mean() == pytest.approx(0.0, abs=0.1)


def test_scale_option_reports_normal_metric(data):
    folder, _, _ = data
    out = folder / "run2" / "params.csv"
    res = CliRunner().invoke(main, ["calibrate", str(folder / "resp.csv"), "--model", "rasch", "--scale", "1.702",
                                    "--out", str(out)])
    assert res.exit_code == 0, res.output
    summary = json.loads((out.parent / "calibration.json").read_text())
    assert summary["D"] == 1.702
    assert (pd.read_csv(out).D == 1.702).all()
    # the Rasch latent SD (on the D = 1.702 metric, far from 1) is what `score` uses as the EAP prior
    from workflows.parameter_files import read_latent
    assert read_latent(out) == (0.0, pytest.approx(summary["latent_sd"]))
    assert abs(summary["latent_sd"] - 1.0) > 0.1


def test_girth_3pl_is_a_clear_error_and_writes_nothing(data):
    folder, _, _ = data
    from psychometrics.irt.girth_adapter import girth_3pl_available
    if girth_3pl_available():
        pytest.skip("girth 3PL works with this numpy")
    out = folder / "g" / "params.csv"
    res = CliRunner().invoke(main, ["calibrate", str(folder / "resp.csv"), "--model", "3pl", "--engine", "girth",
                                    "--out", str(out)])
    assert res.exit_code == 2
    assert "girth's 3PL estimator does not work with numpy" in res.output
    assert not out.exists()


def test_bad_params_file_lists_every_problem_and_writes_nothing(data, tmp_path):
    folder, _, ids = data
    bad = tmp_path / "bad.csv"
    pd.DataFrame({"item_id": ids[:3], "a": [1.0, "x", 1.0], "b": [0.0, 0.0, "y"]}).to_csv(bad, index=False)
    out = tmp_path / "thetas.csv"
    res = CliRunner().invoke(main, ["score", str(folder / "resp.csv"), "--params", str(bad), "--out", str(out)])
    assert res.exit_code == 2
    assert "row 3, column 'a'" in res.output and "row 4, column 'b'" in res.output
    assert not out.exists()
    missing = tmp_path / "few.csv"
    pd.DataFrame({"item_id": ids[:3], "a": 1.0, "b": 0.0}).to_csv(missing, index=False)
    res = CliRunner().invoke(main, ["score", str(folder / "resp.csv"), "--params", str(missing), "--out", str(out)])
    assert res.exit_code == 2 and "21 item(s) in the responses have no parameters" in res.output


def test_degenerate_item_is_one_sentence(tmp_path):
    rng = np.random.default_rng(1)
    items = simulate_items(6, rng)
    x = simulate_responses(rng.normal(size=300), items.a, items.b, rng=rng)
    x[:, 1] = 1
    write_responses(tmp_path / "r.csv", x, [f"I{j}" for j in range(6)])
    res = CliRunner().invoke(main, ["calibrate", str(tmp_path / "r.csv"), "--out", str(tmp_path / "p.csv")])
    assert res.exit_code == 2
    assert "Item I1 was answered correctly by all 300" in res.output
    assert "Traceback" not in res.output and not (tmp_path / "p.csv").exists()


def test_save_then_anchor_from_bank(data, tmp_path):
    folder, items, ids = data
    bank = tmp_path / "bank.db"
    runner = CliRunner()
    assert runner.invoke(main, ["--bank", str(bank), "init", "--sample"]).exit_code == 0
    # store "bank values" for the first 12 items by calibrating a file with only them, then --save
    first = pd.read_csv(folder / "resp.csv").iloc[:, :13]
    first.to_csv(tmp_path / "first.csv", index=False)
    res = runner.invoke(main, ["--bank", str(bank), "calibrate", str(tmp_path / "first.csv"), "--save",
                               "--label", "pilot", "--out", str(tmp_path / "p1" / "params.csv")])
    assert res.exit_code == 0, res.output
    from itembank.store import Bank
    with Bank.open(bank, user="t") as b:
        stored = b.item_parameters(ids)
    assert stored.item_id.tolist() == ids[:12] and (stored.calibration_label == "pilot").all()

    res = runner.invoke(main, ["--bank", str(bank), "calibrate", str(folder / "resp.csv"), "--anchor-from-bank",
                               "--out", str(tmp_path / "p2" / "params.csv")])
    assert res.exit_code == 0, res.output
    assert "12 anchors held fixed" in res.output
    params = pd.read_csv(tmp_path / "p2" / "params.csv")
    assert params.fixed.iloc[:12].all() and not params.fixed.iloc[12:].any()
    np.testing.assert_allclose(params.b.iloc[:12], stored.b, atol=1e-12)
    # the same data calibrated freely in one run: the anchored new items agree with it
    free = pd.read_csv(folder / "run1" / "params.csv") if (folder / "run1" / "params.csv").exists() else None
    if free is not None:
        assert np.abs(params.b.iloc[12:].to_numpy() - free.b.iloc[12:].to_numpy()).max() < 0.15


def test_guessing_and_slope_prior_options(data):
    # the CLI's priors reach the estimator: calibration.json states them, and --guessing-prior none gives
    # the same estimates as the library's guessing_prior=None
    from psychometrics.irt.estimation import calibrate
    folder, _, ids = data
    runner = CliRunner()
    out = folder / "run-priors" / "params.csv"
    res = runner.invoke(main, ["calibrate", str(folder / "resp.csv"), "--model", "3pl", "--guessing-prior", "none",
                               "--slope-prior", "lognormal:0,0.5", "--out", str(out)])
    assert res.exit_code == 0, res.output
    summary = json.loads((out.parent / "calibration.json").read_text())
    assert summary["guessing_prior"] is None and summary["slope_prior"] == [0.0, 0.5]
    x = pd.read_csv(folder / "resp.csv")[ids].to_numpy(float)
    lib = calibrate(x, "3pl", guessing_prior=None, slope_prior=(0.0, 0.5))
    np.testing.assert_allclose(pd.read_csv(out).c, lib.c, atol=1e-6)
    out2 = folder / "run-priors2" / "params.csv"
    res = runner.invoke(main, ["calibrate", str(folder / "resp.csv"), "--model", "3pl", "--guessing-prior",
                               "beta:3,9", "--out", str(out2)])
    assert res.exit_code == 0, res.output
    assert json.loads((out2.parent / "calibration.json").read_text())["guessing_prior"] == [3.0, 9.0]
    for bad in (["--guessing-prior", "beta:5"], ["--slope-prior", "lognormal:0,-1"], ["--guessing-prior", "unif"]):
        res = runner.invoke(main, ["calibrate", str(folder / "resp.csv"), "--model", "3pl", *bad,
                                   "--out", str(folder / "bad" / "p.csv")])
        assert res.exit_code == 2 and "prior" in res.output, res.output


def test_a_wide_3pl_on_few_candidates_is_refused_at_once_and_writes_nothing(tmp_path):
    # 300 candidates × 2,000 items: the 3PL's asymptotes are not identified; the command says so in one
    # sentence (exit 2) instead of running minutes of EM, and --min-candidates is the knowing override
    import time

    rng = np.random.default_rng(4)
    items = simulate_items(2000, rng, model="3pl")
    x = simulate_responses(rng.normal(size=300), items.a, items.b, items.c, rng=rng)
    ids = [f"W{j:04d}" for j in range(2000)]
    write_responses(tmp_path / "wide.csv", x, ids)
    out = tmp_path / "out" / "params.csv"
    started = time.perf_counter()
    res = CliRunner().invoke(main, ["calibrate", str(tmp_path / "wide.csv"), "--model", "3pl", "--out", str(out)])
    assert res.exit_code == 2, res.output
    assert time.perf_counter() - started < 15
    message = res.output.strip().splitlines()[-1]
    assert "wide.csv" in message and "500 candidates answering each item" in message
    assert "2,000 of 2,000 items have fewer (as few as 300)" in message and "Traceback" not in res.output
    assert not (tmp_path / "out").exists()
    res = CliRunner().invoke(main, ["calibrate", str(tmp_path / "wide.csv"), "--model", "3pl", "--min-candidates",
                                    "1", "--out", str(out)])
    assert res.exit_code == 2 and "--min-candidates" in res.output  # below the option's range: a usage error


def test_calibrate_rasch_by_cml_writes_the_cml_difficulties_and_refuses_other_models(data):
    import numpy.testing as npt

    from psychometrics.irt.rasch_cml import calibrate_cml
    folder, _, ids = data
    out = folder / "run-cml" / "params.csv"
    res = CliRunner().invoke(main, ["calibrate", str(folder / "resp.csv"), "--model", "rasch", "--estimation", "cml",
                                    "--out", str(out)])
    assert res.exit_code == 0, res.output
    assert "conditional ML" in res.output
    params = pd.read_csv(out)
    x = pd.read_csv(folder / "resp.csv").drop(columns="candidate_id").to_numpy(float)
    npt.assert_allclose(params.b, calibrate_cml(x).b, atol=1e-9)
    assert not params.fixed.any() and (params.a == 1).all()
    summary = json.loads((out.parent / "calibration.json").read_text())
    assert summary["estimation"] == "cml" and summary["cml"]["normalization"].startswith("sum of b")
    assert summary["latent_mean"] == pytest.approx(0.4 - params.b.mean(), abs=0.2)  # θ ~ N(0.4, 1.1) simulated
    for extra in (["--model", "2pl"], ["--model", "rasch", "--engine", "girth"],
                  ["--model", "rasch", "--anchor-from-bank"]):
        bad = folder / "run-cml-bad" / "params.csv"
        res = CliRunner().invoke(main, ["calibrate", str(folder / "resp.csv"), "--estimation", "cml", *extra,
                                        "--out", str(bad)])
        assert res.exit_code == 2 and "Traceback" not in res.output, res.output
        assert len(res.output.strip().splitlines()[-1].split(". ")) == 1 and not bad.parent.exists()
