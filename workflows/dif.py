"""The DIF job behind `certbank dif`: read and score a response file, run the DIF analysis between two groups
of takers and return a result that writes the per-item table and says what it found.

``bank`` is an open ``itembank.store.Bank`` (or anything with its ``form_key``, ``form_options`` and
``item_texts`` methods) or None. With a form it gives the key; with or without one, bank items get their
English and Spanish stems side by side in the table.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from certbank_core.errors import CertbankError, InputError
from certbank_core.files import atomic_write
from psychometrics.dif.analysis import DEFAULT_ALPHA, DifResult, analyze_responses


@dataclass(frozen=True)
class DifStudy:
    """``result`` of the analysis and ``frame`` its per-item table (with item texts when the bank had them)."""

    result: DifResult
    frame: pd.DataFrame = field(repr=False)

    @property
    def warnings(self) -> tuple[str, ...]:
        return tuple(self.result.warnings)

    def write(self, out_path) -> list[Path]:
        out_path = Path(out_path)
        atomic_write(out_path, lambda tmp: self.frame.to_csv(tmp, index=False, encoding="utf-8"))
        return [out_path]

    def message(self, out_path) -> str:
        """The ETS class counts, one line per flagged item's reason, then the file written."""
        r, frame = self.result, self.frame
        counts = frame["ets_level"].value_counts()
        lines = [f"DIF of {len(frame)} items, {r.focal_label} (focal, n = {r.n_focal_total}) against "
                 f"{r.reference_label} (reference, n = {r.n_reference}): ETS class A {counts.get('A', 0)}, "
                 f"B {counts.get('B', 0)}, C {counts.get('C', 0)}; {int(frame['flagged'].sum())} flagged."]
        lines += [f"  {row['reason']}" for row in r.flag_reasons()]
        lines.append(f"Wrote {out_path}")
        return "\n".join(lines)


def dif_study(bank, responses, out_path, *, form_id: str | None = None, key_path=None,
              group: str | None = None, focal=None, reference=None, purify: bool = False,
              adjust: str | None = None, alpha: float = DEFAULT_ALPHA) -> DifStudy:
    """DIF (Mantel–Haenszel with the ETS rule, logistic regression, STD P-DIF; ``psychometrics.dif.analysis``) of
    RESPONSES scored by a bank form's key (``form_id``), a key file or as 0/1 data, between ``focal`` and
    ``reference`` in the ``group`` column (default: Spanish against English takers).

    ``out_path`` (a .csv in an existing folder) is checked here, before any work, so a bad path costs nothing.
    """
    from workflows.responses import read_key_file, read_responses

    responses, out_path = Path(responses), Path(out_path)
    if form_id and key_path:
        raise InputError("Give either --form or --key, not both.")
    if not responses.is_file():
        raise InputError(f"The response file {responses} does not exist.")
    if out_path.suffix.lower() != ".csv":
        raise InputError(f"--out must name a .csv file, not '{out_path.name}'.")
    if not out_path.parent.is_dir():
        raise InputError(f"The folder of --out ({out_path.parent}) does not exist.")
    texts = None
    pretest: tuple[str, ...] = ()
    extra_groups = (group,) if group else ()
    if form_id:
        if bank is None:
            raise InputError(f"form {form_id} needs the item bank, and none was given.")
        key, options = bank.form_key(form_id), bank.form_options(form_id)
        texts = bank.item_texts(list(key))
        # pretest items do not count in the score, so they stay out of the matching score (as in the CTT total)
        pretest = tuple(fi.item_id for fi in bank.get_form(form_id).items if fi.is_pretest)
        matrix = read_responses(responses, key=key, options=options, item_ids=list(key), form_id=form_id,
                                group_columns=extra_groups)
    else:
        key = read_key_file(key_path) if key_path else None
        matrix = read_responses(responses, key=key, group_columns=extra_groups)
        if bank is not None:
            texts = bank.item_texts(list(matrix.item_ids))
    try:
        result = analyze_responses(matrix, group, focal, reference, purify=purify, adjust=adjust, alpha=alpha,
                                   pretest=pretest)
    except CertbankError as err:  # the numerics know no files: name the one the groups came from
        if str(responses) in str(err):
            raise
        raise type(err)(f"{responses}: {err}") from None
    return DifStudy(result, result.to_frame(texts))
