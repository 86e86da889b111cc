"""Item-parameter files (params.csv: item_id, a, b[, c][, D]) and the calibration.json beside them."""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from certbank_core.errors import InputError, Problem
from itembank.model import BANK_SCALE
from psychometrics.irt.models import D_LOGISTIC, ItemParameters
from workflows.tables import read_numeric_table


def read_item_parameters(path) -> ItemParameters:
    """Item parameters from a .csv/.xlsx with columns item_id, b and optionally a, c, D (form order)."""
    from pathlib import Path

    from certbank_core.errors import Problem

    numbers = read_numeric_table(path, ["b"], ["a", "c", "d"])
    ids = pd.read_excel(path, dtype=str) if Path(path).suffix.lower() in (".xlsx", ".xlsm") else \
        pd.read_csv(path, dtype=str, keep_default_na=False)
    ids.columns = [str(c).strip().lower() for c in ids.columns]
    if "item_id" not in ids.columns:
        raise InputError(Problem("column 'item_id' is missing", file=str(path)))
    item_ids = [str(v).strip() for v in ids["item_id"]]
    problems = [Problem("blank item_id", str(path), i + 2, "item_id") for i, v in enumerate(item_ids) if not v]
    if "a" in numbers:
        problems += [Problem(f"slope a = {v:g} must be positive", str(path), i + 2, "a")
                     for i, v in enumerate(numbers["a"]) if v <= 0]
    if "c" in numbers:
        problems += [Problem(f"lower asymptote c = {v:g} must be in [0, 1)", str(path), i + 2, "c")
                     for i, v in enumerate(numbers["c"]) if not 0 <= v < 1]
    if problems:
        raise InputError(problems)
    D = float(numbers["d"].iloc[0]) if "d" in numbers else D_LOGISTIC
    return ItemParameters.from_arrays(numbers["a"].to_numpy() if "a" in numbers else None, numbers["b"].to_numpy(),
                                      numbers["c"].to_numpy() if "c" in numbers else None, D, item_ids)


def read_params(path, D: float | None = None) -> pd.DataFrame:
    """Read a params.csv (item_id, a, b[, c][, D]); every problem is collected into one InputError."""
    path = Path(path)
    try:
        frame = pd.read_csv(path, dtype={"item_id": str})
    except FileNotFoundError:
        raise InputError(Problem("the parameter file does not exist", file=str(path))) from None
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as err:
        raise InputError(Problem(f"cannot read the parameter file: {err}", file=str(path))) from None
    problems = []
    for col in ("item_id", "a", "b"):
        if col not in frame.columns:
            problems.append(Problem(f"there is no '{col}' column", file=str(path), row=1))
    if problems:
        raise InputError(problems)
    if "c" not in frame.columns:
        frame["c"] = 0.0
    for col in ("a", "b", "c", "D"):
        if col not in frame.columns:
            continue
        values = pd.to_numeric(frame[col], errors="coerce")
        for r in np.flatnonzero(~np.isfinite(values.to_numpy(float))):
            problems.append(Problem(f"'{frame[col].iloc[r]}' is not a number", str(path), int(r) + 2, col))
        frame[col] = values
    dup = frame["item_id"].duplicated()
    for r in np.flatnonzero(dup.to_numpy()):
        problems.append(Problem(f"item {frame['item_id'].iloc[r]} appears twice", str(path), int(r) + 2, "item_id"))
    if "c" in frame.columns:
        bad = (frame["c"] < 0) | (frame["c"] >= 1)
        for r in np.flatnonzero(bad.fillna(False).to_numpy()):
            problems.append(Problem("c must be in [0, 1)", str(path), int(r) + 2, "c"))
    if problems:
        raise InputError(problems)
    if D is not None:
        frame["D"] = float(D)
    elif "D" not in frame.columns:
        frame["D"] = 1.0
    if frame["D"].nunique() > 1:
        raise InputError(Problem("the parameter file mixes scaling constants D", file=str(path)))
    return frame



def read_latent(params_path) -> tuple[float, float]:
    """Latent mean and SD of the calibration that made ``params_path`` (its calibration.json beside it), else
    (0, 1). A Rasch calibration estimates the SD; EAP and MAP must use it as their prior."""
    path = Path(params_path).parent / "calibration.json"
    try:
        info = json.loads(path.read_text(encoding="utf-8"))
        mean, sd = float(info.get("latent_mean", 0.0)), float(info.get("latent_sd", 1.0))
    except (OSError, ValueError, TypeError, AttributeError):
        return 0.0, 1.0
    return (mean, sd) if np.isfinite(mean) and np.isfinite(sd) and sd > 0 else (0.0, 1.0)


# ---- shared inputs and outputs ---------------------------------------------------------------------------------
def _need_bank(bank, what: str):
    if bank is None:
        raise InputError(f"{what} needs the item bank, and none was given.")
    return bank



#: How many item ids a "these items have no parameters" sentence shows before "…".
SHOWN_IDS = 3


def calibrate_hint(form_id: str) -> str:
    """The command that puts a form's items on the bank scale (named by every "no parameters" sentence)."""
    return (f"`certbank calibrate RESPONSES --form {form_id} --model 3pl --out params.csv --save "
            f"--administration ID`")


def shown_ids(ids, limit: int = SHOWN_IDS) -> str:
    """"A, B, C, …": the first ``limit`` ids, and an ellipsis when there are more."""
    ids = list(ids)
    return ", ".join(ids[:limit]) + (", …" if len(ids) > limit else "")


@dataclass(frozen=True)
class FormParameters:
    """A form's scored items with their bank-scale IRT parameters and where they came from.

    ``params``: ItemParameters in form order; ``p_values``: the items' latest p-values (bank forms, else None);
    ``sources``: one row per parameter set that supplied items — parameter_set_id, administration_id, method,
    starts_scale, label, n_items (empty for a parameter file, or a bank that keeps no provenance)."""

    params: ItemParameters
    p_values: np.ndarray | None
    sources: pd.DataFrame
    form_id: str | None = None
    params_file: Path | None = None

    def source_records(self) -> list[dict]:
        """The sources as JSON-ready records (for summaries)."""
        return [{k: (None if pd.isna(v) else (int(v) if k in ("parameter_set_id", "n_items") else
                                               bool(v) if k == "starts_scale" else v))
                 for k, v in row.items()} for row in self.sources.to_dict("records")]

    def sentence(self) -> str:
        """"Parameters: set 3 (administration PSS-2027-A, stocking-lord, 118 items), set 1 (…)."."""
        if self.params_file is not None:
            return f"Parameters: the file {self.params_file}."
        if self.sources.empty:
            return "Parameters: the bank scale (the bank keeps no parameter-set provenance)."
        parts = []
        for row in self.sources.itertuples():
            bits = [f"administration {row.administration_id}" if row.administration_id else
                    (row.label or "no administration")]
            bits.append(str(row.method))
            if row.starts_scale:
                bits.append("defines the bank scale")
            bits.append(f"{row.n_items} item{'s' if row.n_items != 1 else ''}")
            parts.append(f"set {row.parameter_set_id} ({', '.join(bits)})")
        return "Parameters: " + ", ".join(parts) + "."


def _sources(bank, frame: pd.DataFrame) -> pd.DataFrame:
    columns = ["parameter_set_id", "administration_id", "method", "starts_scale", "label", "n_items"]
    if "parameter_set_id" not in frame.columns or frame.empty:
        return pd.DataFrame(columns=columns)
    rows = []
    counts = frame.groupby("parameter_set_id", sort=False).size()
    for set_id, n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])):
        info = bank.parameter_set(int(set_id)) if hasattr(bank, "parameter_set") else None
        rows.append({"parameter_set_id": int(set_id),
                     "administration_id": getattr(info, "administration_id", None),
                     "method": getattr(info, "method", None) or frame.loc[frame.parameter_set_id == set_id,
                                                                          "method"].iloc[0],
                     "starts_scale": bool(getattr(info, "starts_scale", False)),
                     "label": getattr(info, "label", ""), "n_items": int(n)})
    return pd.DataFrame(rows, columns=columns)


def bank_form_parameters(bank, form_id: str | None, params_file=None) -> FormParameters:
    """The form's scored items with their IRT parameters on the bank scale and the parameter sets that supplied
    them (``FormParameters``), from the bank (``form_id``) or a file (``params_file``: item_id, a, b, c).

    Only bank-scale parameters count (``bank.item_parameters(items)``: the newest accepted set on the bank
    scale for each item's current version). When some scored items have none, one sentence says how many,
    names a few and gives the command that calibrates the form onto the bank scale."""
    if bool(form_id) == bool(params_file):
        raise InputError("Give exactly one of --form ID (bank) or --params FILE (item_id, a, b, c).")
    if params_file:
        return FormParameters(read_item_parameters(params_file), None, _sources(None, pd.DataFrame()),
                              params_file=Path(params_file))
    bank = _need_bank(bank, f"form {form_id}")
    items = bank.get_form(form_id).scored_item_ids
    frame = bank.item_parameters(items)
    if "scale" in frame.columns:
        frame = frame[frame["scale"].fillna(BANK_SCALE) == BANK_SCALE]
    have = set(frame.loc[frame["b"].notna(), "item_id"].astype(str)) if "b" in frame.columns else set()
    missing = [i for i in items if i not in have]
    if missing:
        raise InputError(f"{len(missing)} of the {len(items)} scored items of form {form_id} have no IRT "
                         f"parameters on the bank scale ({shown_ids(missing)}): calibrate this form's responses "
                         f"onto the bank scale first: {calibrate_hint(form_id)}.")
    params = ItemParameters.from_frame(frame, item_ids=items, source=f"form {form_id}")
    pool = bank.item_pool()
    p_values = pool.set_index("item_id").reindex(list(items))["p_value"].to_numpy(dtype=float) \
        if "p_value" in pool else None
    return FormParameters(params, p_values, _sources(bank, frame), form_id=form_id)


def form_parameters(bank, form_id: str | None, params_file=None) -> tuple[ItemParameters, np.ndarray | None]:
    """The form's scored items with their bank-scale IRT parameters and the items' latest p-values (bank forms
    only, else None); ``bank_form_parameters`` also says which parameter sets supplied them."""
    found = bank_form_parameters(bank, form_id, params_file)
    return found.params, found.p_values
