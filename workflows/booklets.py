"""The candidate booklet of a saved form in one language (``certbank forms export ID --format booklet``).

The form workbook (``bundles.write_form_workbook``) holds the booklets beside the answer key for the people who
build the exam; this is the file that goes to a printer or a delivery vendor, so the key never travels with the
questions. It holds the questions of the versions on the form, in form order, in one language: position,
stem and options; no item ids, key, rationale, statistics or parameters, and pretest items look like the
others (see ``reports.booklet_report``).

A booklet is refused, before anything is written, when the form's items have no text in the language, when
some item lacks it, or when some item's text in it is not reviewed: a candidate reads only reviewed text. The
program's name comes from the program settings file (the one the score reports read; default the sample
program's) and the fixed wording from the message catalogue of the language (``reports/messages``).
"""
from __future__ import annotations

from pathlib import Path
from typing import Sequence

import pandas as pd

from certbank_core.errors import InputError, Problem
from itembank.model import TranslationStatus
from reports.booklet_report import OPTION_LABELS, Booklet, build_booklet_workbook
from reports.workbook import LANGUAGE_NAMES, check_writable
from workflows.assembly import form_export
from workflows.candidate_reports import read_messages, read_program_settings

#: The catalogue keys a booklet uses (``reports/messages/<lang>.toml``).
BOOKLET_KEYS = ("booklet_title", "booklet_form", "booklet_instructions", "booklet_pretest", "booklet_page")
#: How many item ids a refusal names before "and N more".
NAMED = 5


def _language_name(lang: str) -> str:
    return LANGUAGE_NAMES.get(lang, repr(lang))


def _named(entries: Sequence[str]) -> str:
    shown = ", ".join(entries[:NAMED])
    return shown + (f" and {len(entries) - NAMED} more" if len(entries) > NAMED else "")


def booklet_language_problems(form, versions: dict, lang: str) -> str | None:
    """The one sentence that refuses a booklet of ``form`` in ``lang``, or None when every item on it has
    reviewed text in that language. ``versions``: item_id → the ``ItemVersion`` on the form."""
    order = sorted(form.items, key=lambda fi: fi.position)
    written = sorted({t.language for v in versions.values() for t in v.texts})
    if lang not in written:
        return (f"Form {form.form_id} has no items in {lang!r}: its items are written in {', '.join(written)}, so "
                "its booklet can be printed only in one of those.")
    missing = [f"{fi.item_id} at position {fi.position}" for fi in order
               if versions[fi.item_id].text(lang) is None or not versions[fi.item_id].text(lang).stem.strip()]
    if missing:
        return (f"Form {form.form_id} cannot be printed in {_language_name(lang)}: {len(missing)} of its "
                f"{len(order)} items have no {_language_name(lang)} text ({_named(missing)}); add the translation "
                "as a new version on a new form, or print another language.")
    statuses = {fi.item_id: TranslationStatus(versions[fi.item_id].text(lang).translation_status) for fi in order}
    draft = [f"{fi.item_id} at position {fi.position} ({statuses[fi.item_id].value})" for fi in order
             if statuses[fi.item_id] != TranslationStatus.REVIEWED]
    if draft:
        return (f"Form {form.form_id} cannot be printed in {_language_name(lang)}: the {_language_name(lang)} text "
                f"of {len(draft)} of its {len(order)} items is not reviewed ({_named(draft)}), and a candidate "
                "reads only reviewed text.")
    return None


def booklet_questions(form, texts: pd.DataFrame, lang: str) -> pd.DataFrame:
    """One row per position in form order: position, stem, option_a … option_f in ``lang`` (nothing else)."""
    by_item = texts.set_index("item_id")
    rows = []
    for fi in sorted(form.items, key=lambda fi: fi.position):
        t = by_item.loc[fi.item_id]
        rows.append({"position": int(fi.position), "stem": t[f"stem_{lang}"],
                     **{f"option_{lab.lower()}": t[f"option_{lab.lower()}_{lang}"] for lab in OPTION_LABELS}})
    return pd.DataFrame(rows, columns=["position", "stem", *(f"option_{lab.lower()}" for lab in OPTION_LABELS)])


def _messages(lang: str) -> dict:
    messages = read_messages(lang)
    missing = [k for k in BOOKLET_KEYS if not str(messages.get(k, "")).strip()]
    if missing:
        raise InputError(Problem(f"the message catalogue lacks {', '.join(missing)}, which the booklet needs",
                                 f"reports/messages/{lang}.toml"))
    return messages


def form_booklet(bank, form_id: str, lang: str, settings_file=None) -> Booklet:
    """The candidate booklet of a saved form in ``lang``; an ``InputError`` (one sentence) when it cannot be
    printed in that language (see the module's text)."""
    lang = str(lang).strip().lower()
    form = bank.get_form(form_id)
    versions = {fi.item_id: bank.get_version(fi.item_id, fi.version) for fi in form.items}
    problem = booklet_language_problems(form, versions, lang)
    if problem:
        raise InputError(problem)
    messages = _messages(lang)
    program = read_program_settings(settings_file).text("names", lang)
    texts = form_export(bank, form_id, languages=(lang,)).texts
    questions = booklet_questions(form, texts, lang)
    n = len(questions)
    form_line = messages["booklet_form"].format(form=form.name or form.form_id, form_id=form.form_id, n=n)
    instructions = [line for line in str(messages["booklet_instructions"]).format(n=n).split("\n") if line.strip()]
    if any(fi.is_pretest for fi in form.items):  # that some questions do not count, never which
        instructions.append(str(messages["booklet_pretest"]))
    return Booklet(form_id=form.form_id, language=lang, program=program, heading=messages["booklet_title"],
                   form_line=form_line, instructions=tuple(instructions), questions=questions,
                   footer=messages["booklet_page"].replace("{page}", "&P").replace("{pages}", "&N"))


def write_booklet(bank, form_id: str, lang: str, out, force: bool = False, settings_file=None) -> str:
    """Write the candidate booklet of a form in ``lang`` to ``out`` (.xlsx, atomically); every refusal comes
    before anything is written. Returns the line the CLI prints."""
    if out is None:
        raise InputError("A booklet export needs --out FILE.xlsx.")
    check_writable(out, force)
    booklet = form_booklet(bank, form_id, lang, settings_file)
    written = build_booklet_workbook(booklet, Path(out), force=force)
    return (f"Wrote {written}: the {_language_name(booklet.language)} booklet of form {booklet.form_id}, "
            f"{len(booklet.questions)} questions in form order, without the answer key (the form workbook, "
            "--format xlsx, keeps the key on its secure sheet).")
