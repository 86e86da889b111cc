"""`certbank security` through CliRunner: the outputs, and one plain sentence for each bad input."""
import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from certbank_core.errors import InputError
from cli import main
from psychometrics.simulate import simulate_items, simulate_option_choices
from workflows.security import security_study

N_ITEMS = 40


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("security")
    rng = np.random.default_rng(20)
    items = simulate_items(N_ITEMS, rng, model="2pl")
    ids = [f"I{j + 1:02d}" for j in range(N_ITEMS)]
    key = rng.integers(0, 4, N_ITEMS)
    theta = rng.normal(0, 1, 200)
    theta[0] = -1.0                                        # a source with wrong answers to share
    codes = simulate_option_choices(theta, items.a, items.b, correct_options=key, n_options=np.full(N_ITEMS, 4),
                                    rng=rng)
    codes[1] = codes[0]                                    # candidate C001 copied everything from C000
    labels = np.array(list("ABCD"))[codes]

    def write(name, rows, site=None, prefix="C"):
        frame = pd.DataFrame(labels[rows], columns=ids)
        if site is not None:
            frame.insert(0, "site", site)
        frame.insert(0, "candidate_id", [f"{prefix}{i:03d}" for i in rows])
        frame.to_csv(folder / name, index=False)
        return folder / name

    paths = {"resp": write("resp.csv", np.arange(200), site=np.where(np.arange(200) < 100, "north", "south")),
             "one": write("one.csv", np.arange(1)), "onesite": write("onesite.csv", np.arange(10), site="north"),
             "previous": write("previous.csv", np.arange(100, 150))}
    pd.DataFrame({"item_id": ids, "key": list(np.array(list("ABCD"))[key])}).to_csv(folder / "key.csv", index=False)
    pd.DataFrame({"item_id": ids, "a": items.a, "b": items.b, "c": 0.0}).to_csv(folder / "params.csv", index=False)
    pd.DataFrame({"item_id": ids[:8]}).to_csv(folder / "exposed.csv", index=False)
    paths.update(key=folder / "key.csv", params=folder / "params.csv", exposed=folder / "exposed.csv")
    return folder, paths


def _run(args):
    return CliRunner().invoke(main, ["--bank", "no-bank.db", "security", *map(str, args)])


def test_security_writes_every_table_and_the_workbook(files, tmp_path):
    folder, f = files
    out, report = tmp_path / "out", tmp_path / "security.xlsx"
    res = _run([f["resp"], "--key", f["key"], "--params", f["params"], "--out", out, "--report", report,
                "--site", "site", "--exposed", f["exposed"], "--previous", f["previous"]])
    assert res.exit_code == 0, res.output
    assert "candidates need review" in res.output and "not proof" in res.output
    for name in ("person_fit.csv", "pairs.csv", "clusters.csv", "retakes.csv", "preknowledge.csv", "summary.json"):
        assert (out / name).is_file(), name
    pairs = pd.read_csv(out / "pairs.csv")
    top = pairs.iloc[0]
    assert (top.candidate_1, top.candidate_2, bool(top.flagged)) == ("C000", "C001", True)
    assert pd.read_csv(out / "clusters.csv").candidate_id.tolist()[:2] == ["C000", "C001"]
    retakes = pd.read_csv(out / "retakes.csv")
    assert len(retakes) == 50 and retakes.same_form.all()  # the earlier file is the same form
    from openpyxl import load_workbook

    wb = load_workbook(report)
    assert wb.sheetnames[0] == "Summary"
    text = " ".join(str(c.value) for c in wb["Summary"]["A"] if c.value)
    assert "need review" in text and "not proof" in text


@pytest.mark.parametrize("case, args, sentence", [
    ("one", ["--key", "key", "--params", "params"], "has only 1 candidate"),
    ("onesite", ["--key", "key", "--params", "params", "--site", "site"], "every candidate has the same site"),
    ("resp", ["--key", "key"], "θ needs item parameters on the bank scale"),
    ("resp", ["--key", "key", "--params", "params", "--site", "room"], "there is no site column 'room'"),
])
def test_bad_input_is_one_sentence_and_writes_nothing(files, tmp_path, case, args, sentence):
    folder, f = files
    out = tmp_path / "out"
    res = _run([f[case], *[f.get(a, a) for a in args], "--out", out])
    assert res.exit_code == 2, res.output
    assert sentence in res.output and "Traceback" not in res.output
    assert len(res.output.strip().splitlines()) == 1
    assert not out.exists()


class _NoParamsBank:
    """A bank whose form has a key but no parameters on the bank scale."""

    def get_form(self, form_id):
        class Form:
            scored_item_ids = ("I01", "I02")
        return Form()

    def item_parameters(self, items):
        return pd.DataFrame(columns=["item_id", "a", "b", "c", "scale"])


def test_a_form_without_bank_scale_parameters_is_refused(files):
    _, f = files
    with pytest.raises(InputError, match="have no IRT parameters on the bank scale"):
        security_study(_NoParamsBank(), f["resp"], form_id="F1")
