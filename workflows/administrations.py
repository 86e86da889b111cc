"""Administrations: one delivery of a form, the record every statistic and parameter set of a year attaches to.

A response file is tied to one administration by its SHA-256, so the same file cannot be analysed as two
deliveries. ``attach`` is what `analyze --save-to-bank`, `calibrate --save` and `score` call: it finds the
administration named by ``--administration`` (creating it on first use, with the file's candidate and
language counts), or the one the file is already attached to, or creates ``<form>-<date>``.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pandas as pd

from certbank_core.errors import InputError
from certbank_core.files import sha256_of
from psychometrics.promotion import DEFAULT_CRITERIA, PromotionCriteria, PromotionReview, review_pretest_items
from psychometrics.responses import LANGUAGE_COLUMN, ResponseMatrix


@dataclass(frozen=True)
class Attached:
    """The administration a response file belongs to, and whether this call created it."""

    administration_id: str
    created: bool

    def sentence(self) -> str:
        return (f"Administration {self.administration_id} {'created' if self.created else 'used'} "
                f"for this response file.")


def language_counts(matrix: ResponseMatrix) -> dict[str, int]:
    """Candidates per delivery language ({} when the file has no language column)."""
    columns = {str(c).lower(): c for c in matrix.groups.columns}
    if LANGUAGE_COLUMN not in columns:
        return {}
    counts = matrix.groups[columns[LANGUAGE_COLUMN]].astype(str).str.strip().value_counts()
    return {str(k): int(v) for k, v in counts.items() if k}


def attach(bank, responses, form_id: str, matrix: ResponseMatrix, administration_id: str | None = None,
           *, window_start: str | None = None, window_end: str | None = None) -> Attached:
    """The administration of ``responses`` (a response file of ``form_id``), created on first use.

    With ``administration_id``: that one (created if new; an existing one must be of this form, and of this
    file when it already has one). Without: the administration the file is attached to, else a new one
    named ``<form_id>-<window_start or today>``. A file attached to another administration is refused."""
    sha = sha256_of(responses)
    owner = bank.administration_for_sha256(sha)
    if administration_id is None and owner is not None:
        adm = bank.get_administration(owner)
        if adm.form_id != form_id:
            raise InputError(f"{Path(responses).name} is the response file of administration {owner} "
                             f"(form {adm.form_id}), not of form {form_id}.")
        return Attached(owner, False)
    fields = dict(window_start=window_start, window_end=window_end, n_candidates=int(matrix.scored.shape[0]),
                  language_counts=language_counts(matrix))
    if administration_id is None:
        adm = bank.add_administration(None, form_id, responses_sha256=sha,
                                      **{**fields, "window_start": window_start or date.today().isoformat()})
        return Attached(adm.administration_id, True)
    # A new administration named on the command line is dated today unless a window was given.
    fields["window_start"] = window_start or date.today().isoformat()
    adm, created = bank.ensure_administration(administration_id, form_id, sha, **fields)
    return Attached(adm.administration_id, created)


def existing(bank, administration_id: str | None, form_id: str | None):
    """The administration ``administration_id`` (which must exist and be of ``form_id``), or None."""
    if administration_id is None:
        return None
    adm = bank.get_administration(administration_id)
    if form_id is not None and adm.form_id not in (None, form_id):
        raise InputError(f"Administration {administration_id!r} delivered form {adm.form_id!r}, not {form_id!r}.")
    return adm


def add(bank, administration_id: str | None, form_id: str, *, window_start=None, window_end=None,
        n_candidates=None, language_counts_text: str | None = None, responses=None, notes: str = ""):
    """`certbank administrations add`: record a delivery before its data arrive (or with its file)."""
    counts = _parse_counts(language_counts_text) if language_counts_text else None
    sha = sha256_of(responses) if responses is not None else None
    if responses is not None and not Path(responses).is_file():
        raise InputError(f"The response file {responses} does not exist.")
    bank.get_form(form_id)
    return bank.add_administration(administration_id, form_id, window_start=window_start, window_end=window_end,
                                   n_candidates=n_candidates, language_counts=counts, responses_sha256=sha,
                                   notes=notes)


def _parse_counts(text: str) -> dict[str, int]:
    """'en=2000,es=1000' → {'en': 2000, 'es': 1000}; anything else is one clear error."""
    out = {}
    for part in (p.strip() for p in text.split(",") if p.strip()):
        lang, _, n = part.partition("=")
        if not lang.strip() or not n.strip().isdigit():
            raise InputError(f"--languages {text!r}: write language counts as en=2000,es=1000.")
        out[lang.strip()] = int(n)
    return out


def show(bank, administration_id: str) -> str:
    """One administration as text: its record, then what the bank holds from it."""
    adm = bank.get_administration(administration_id)
    counts = ", ".join(f"{k} {v}" for k, v in sorted(adm.language_counts.items())) or "not recorded"
    lines = [f"{adm.administration_id}: form {adm.form_id or '(legacy, unknown)'}, window "
             f"{adm.window_start or '?'} to {adm.window_end or '?'}, {adm.n_candidates or '?'} candidates "
             f"({counts})",
             f"  response file SHA-256: {adm.responses_sha256 or 'not attached'}",
             f"  recorded by {adm.created_by} at {adm.created_at}" + (f"; {adm.notes}" if adm.notes else "")]
    sets = bank.parameter_sets()
    mine = sets[sets["administration_id"] == administration_id] if len(sets) else sets
    for row in mine.itertuples(index=False):
        lines.append(f"  parameter set {row.parameter_set_id}: {row.model} {row.method} on scale {row.scale}"
                     f"{'' if row.accepted else ' (not accepted)'}")
    stats = bank.statistics_table()
    n_stats = int((stats["administration_id"] == administration_id).sum()) if len(stats) else 0
    lines.append(f"  {n_stats} item-statistics rows")
    return "\n".join(lines)


def item_stats(bank, item_id: str) -> pd.DataFrame:
    """`certbank items stats ITEM`: every administration's N, P, corrected point-biserial and IRT parameters,
    by group, oldest first."""
    bank.get_item(item_id)
    return bank.item_statistics_history(item_id)


# ---- pretest → operational -------------------------------------------------------------------------------------

@dataclass(frozen=True)
class PromotionRun:
    """The review of an administration's pretest items, and the items moved (empty until applied)."""

    administration_id: str
    review: PromotionReview
    promoted: tuple[str, ...] = ()

    def to_frame(self) -> pd.DataFrame:
        return self.review.to_frame()

    def message(self) -> str:
        ready = self.review.ready_ids
        lines = [f"Administration {self.administration_id}: {len(self.review.frame)} pretest items reviewed, "
                 f"{len(ready)} meet the bank's criteria" + (f" ({', '.join(ready)})" if ready else "") + "."]
        if not self.review.dif_checked:
            lines.append("DIF was not checked: give --dif DIF.csv (from `certbank dif`) to include it.")
        if self.promoted:
            lines.append(f"Promoted to operational: {', '.join(self.promoted)}.")
        elif ready:
            lines.append("Nothing changed: add --apply to promote them.")
        return "\n".join(lines)


def _read_dif(path) -> pd.DataFrame:
    path = Path(path)
    if not path.is_file():
        raise InputError(f"The DIF file {path} does not exist.")
    try:
        frame = pd.read_csv(path, dtype={"item_id": str, "ets_class": str}, keep_default_na=False)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as err:
        raise InputError(f"{path}: cannot read the DIF file ({err}).") from None
    missing = [c for c in ("item_id", "ets_class") if c not in frame.columns]
    if missing:
        raise InputError(f"{path}, row 1: a DIF file (from `certbank dif`) needs the column(s) {', '.join(missing)}.")
    return frame


def promotion_review(bank, administration_id: str, *, dif_file=None, apply: bool = False,
                     reason: str | None = None, criteria: PromotionCriteria = DEFAULT_CRITERIA) -> PromotionRun:
    """Review the pretest items of an administration's form against ``criteria`` with the statistics saved from
    that administration and the items' bank-scale parameters; with ``apply`` move the ready ones from pretest to
    operational in one transaction, each with its evidence in the audit log."""
    adm = bank.get_administration(administration_id)
    if adm.form_id is None:
        raise InputError(f"Administration {administration_id!r} has no form on record, so it has no pretest items.")
    form = bank.get_form(adm.form_id)
    pretest = [fi.item_id for fi in form.items if fi.is_pretest]
    pool = bank.item_pool().set_index("item_id")
    pretest = [i for i in pretest if i in pool.index and pool.at[i, "status"] == "pretest"]
    stats = bank.statistics_table(pretest)
    if len(stats):
        stats = stats[(stats["administration_id"] == administration_id) & (stats["group"] == "all")]
        stats = stats.assign(point_biserial=stats["point_biserial_corrected"])
    params = bank.item_parameters(pretest)
    dif = _read_dif(dif_file) if dif_file else None
    review = review_pretest_items(pretest, stats if len(stats) else pd.DataFrame(columns=["item_id"]), params,
                                  dif, criteria=criteria)
    promoted: tuple[str, ...] = ()
    if apply and review.ready_ids:
        rows = review.frame.set_index("item_id")
        with bank.transaction():
            for item_id in review.ready_ids:
                r = rows.loc[item_id]
                evidence = (f"pretest on administration {administration_id}: N {int(r.n)}, P {r.p_value:.2f}, "
                            f"corrected r {r.point_biserial:.2f}, a {r.a:.2f}, b {r.b:.2f}")
                bank.promote_items([item_id], f"{reason}; {evidence}" if reason else evidence)
        promoted = review.ready_ids
    return PromotionRun(administration_id, review, promoted)
