"""workflows.dif.dif_study called from Python (no CLI), on data with one planted DIF item."""
import pandas as pd
import pytest

from certbank_core.errors import InputError
from tests.psychometrics.test_dif_cli import write_language_file
from workflows.dif import dif_study


class _TextBank:
    def item_texts(self, item_ids, languages=("en", "es")):
        return pd.DataFrame({"item_id": list(item_ids), "stem_en": [f"EN {i}" for i in item_ids],
                             "stem_es": [f"ES {i}" for i in item_ids]})


def test_dif_study_finds_the_planted_item_and_writes_only_on_write(tmp_path):
    responses = tmp_path / "responses.csv"
    write_language_file(responses)
    out = tmp_path / "dif.csv"
    study = dif_study(_TextBank(), responses, out)
    assert not out.exists()
    assert study.frame.loc[0, "ets_class"] == "C-" and study.frame.loc[0, "delta_mh"] < 0
    assert study.frame.loc[0, "stem_es"] == "ES PSS-0001"
    study.write(out)
    assert pd.read_csv(out)["item_id"].tolist() == study.frame["item_id"].tolist()
    message = study.message(out)
    assert "Item PSS-0001 is harder for Spanish takers than for English takers" in message
    assert message.splitlines()[-1] == f"Wrote {out}"


def test_dif_study_checks_paths_before_reading(tmp_path):
    with pytest.raises(InputError, match="does not exist"):
        dif_study(None, tmp_path / "missing.csv", tmp_path / "d.csv")
    responses = tmp_path / "responses.csv"
    write_language_file(responses)
    with pytest.raises(InputError, match="must name a .csv file"):
        dif_study(None, responses, tmp_path / "d.txt")
    with pytest.raises(InputError, match="needs the item bank"):
        dif_study(None, responses, tmp_path / "d.csv", form_id="F1")
    with pytest.raises(InputError, match="either --form or --key"):
        dif_study(None, responses, tmp_path / "d.csv", form_id="F1", key_path=tmp_path / "k.csv")
