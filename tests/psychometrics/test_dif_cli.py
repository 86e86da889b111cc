"""DIF from a response file and through the CLI: grouping, bad input (exit 2, nothing written), bank texts.

The statistics themselves are checked against references in test_dif.py; these tests check the wiring.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from psychometrics import dif
from tests.itembank.conftest import FRAMEWORK_TOML, item_row
from tests.psychometrics.test_dif import planted


def write_language_file(path: Path, n_ref=300, n_focal=200, seed=4, extra_col=None) -> list[str]:
    rng = np.random.default_rng(seed)
    x, focal = planted(rng, n_ref=n_ref, n_focal=n_focal, n_items=20, shift=1.5)
    ids = [f"PSS-{j + 1:04d}" for j in range(x.shape[1])]
    frame = pd.DataFrame(x.astype(int), columns=ids)
    frame.insert(0, "language", np.where(focal, "es", "en"))
    frame.insert(0, "candidate_id", [f"C{i:05d}" for i in range(len(frame))])
    if extra_col:
        frame.insert(2, extra_col, rng.integers(0, 2, len(frame)))
    frame.to_csv(path, index=False)
    return ids


def test_cli_dif_default_language_grouping(tmp_path):
    from click.testing import CliRunner

    from cli import main

    responses = tmp_path / "responses.csv"
    write_language_file(responses)
    out = tmp_path / "dif.csv"
    run = CliRunner().invoke(main, ["--bank", str(tmp_path / "none.db"), "dif", str(responses), "--out", str(out)])
    assert run.exit_code == 0, run.output
    frame = pd.read_csv(out)
    assert list(frame.columns[: len(dif.FRAME_COLUMNS)]) == list(dif.FRAME_COLUMNS)
    assert frame.loc[0, "ets_class"] == "C-" and frame.loc[0, "delta_mh"] < 0
    assert "Item PSS-0001 is harder for Spanish takers than for English takers" in run.output


def test_cli_dif_bad_input_exits_2_and_writes_nothing(tmp_path):
    from click.testing import CliRunner

    from cli import main

    responses = tmp_path / "responses.csv"
    write_language_file(responses, extra_col="gender")
    out = tmp_path / "dif.csv"
    runner = CliRunner()
    bank = ["--bank", str(tmp_path / "none.db")]
    run = runner.invoke(main, bank + ["dif", str(responses), "--group", "region", "--focal", "x", "--out", str(out)])
    assert run.exit_code == 2 and "no column 'region'" in run.output and not out.exists()
    run = runner.invoke(main, bank + ["dif", str(responses), "--group", "gender", "--focal", "7", "--out", str(out)])
    assert run.exit_code == 2 and "focal group is empty" in run.output and not out.exists()
    run = runner.invoke(main, bank + ["dif", str(tmp_path / "missing.csv"), "--out", str(out)])
    assert run.exit_code == 2 and "does not exist" in run.output and not out.exists()
    only_en = tmp_path / "only_en.csv"
    pd.read_csv(responses).query("language == 'en'").to_csv(only_en, index=False)
    run = runner.invoke(main, bank + ["dif", str(only_en), "--out", str(out)])
    assert run.exit_code == 2 and "needs both 'en' and 'es'" in run.output and not out.exists()
    # Any group column works with --group/--focal, and --adjust/--purify pass through.
    run = runner.invoke(main, bank + ["dif", str(responses), "--group", "gender", "--focal", "1", "--adjust",
                                      "holm", "--purify", "--out", str(out)])
    assert run.exit_code == 0, run.output
    assert "gender 1 (focal" in run.output and out.exists()


def test_cli_dif_with_form_scores_labels_and_adds_both_stems(tmp_path):
    from click.testing import CliRunner

    from cli import main
    from itembank.importing import import_frameworks, import_items
    from itembank.model import Form, FormItem
    from itembank.store import Bank

    n_items = 12
    ids = [f"PSS-{j + 1:04d}" for j in range(n_items)]
    keys = ["ABC"[j % 3] for j in range(n_items)]
    rows = [item_row(item_id, status="operational", key=key, stem_en=f"English stem of {item_id}",
                     stem_es=f"Enunciado en español de {item_id}", translation_status_es="reviewed")
            for item_id, key in zip(ids, keys)]
    (tmp_path / "tst.toml").write_text(FRAMEWORK_TOML, encoding="utf-8")
    pd.DataFrame(rows).to_csv(tmp_path / "items.csv", index=False)
    bank_path = tmp_path / "bank.db"
    with Bank.create(bank_path, user="tester") as bank:
        import_frameworks(bank, tmp_path / "tst.toml")
        import_items(bank, tmp_path / "items.csv")
        bank.save_form(Form("F1", "Form 1", tuple(FormItem(j + 1, i, 1) for j, i in enumerate(ids))))

    rng = np.random.default_rng(12)
    x, focal = planted(rng, n_ref=300, n_focal=200, n_items=n_items, shift=1.5)
    wrong = {k: "ABC".replace(k, "")[0] for k in "ABC"}
    labels = np.where(x == 1, np.array(keys)[None, :], np.array([wrong[k] for k in keys])[None, :])
    frame = pd.DataFrame(labels, columns=ids)
    frame.insert(0, "language", np.where(focal, "es", "en"))
    frame.insert(0, "form_id", "F1")
    frame.insert(0, "candidate_id", [f"C{i:05d}" for i in range(len(frame))])
    frame.to_csv(tmp_path / "responses.csv", index=False)

    out = tmp_path / "dif.csv"
    run = CliRunner().invoke(main, ["--bank", str(bank_path), "dif", str(tmp_path / "responses.csv"),
                                    "--form", "F1", "--out", str(out)])
    assert run.exit_code == 0, run.output
    result = pd.read_csv(out)
    assert result.loc[0, "stem_en"] == "English stem of PSS-0001"
    assert result.loc[0, "stem_es"] == "Enunciado en español de PSS-0001"
    assert result.loc[0, "delta_mh"] < 0 and result.loc[0, "ets_level"] in ("B", "C")
    run = CliRunner().invoke(main, ["--bank", str(bank_path), "dif", str(tmp_path / "responses.csv"),
                                    "--form", "NOPE", "--out", str(tmp_path / "x.csv")])
    assert run.exit_code == 2 and not (tmp_path / "x.csv").exists()
