"""The `certbank` command line: parse options, call one library function, print or write its result.

Every user error is a ``CertbankError``: it is printed as plain sentences on stderr and the exit code is 2.
Any other exception is a bug and keeps its traceback.
"""
from __future__ import annotations

import getpass
import os
import sys
import time
from pathlib import Path

import click

from certbank_core.errors import CertbankError


class BankOnDemand:
    """The bank, opened the first time a library job uses it and closed when the command ends: a job that finds
    an input error first reports it even when the bank file is missing, and file-only jobs never open it."""

    def __init__(self, obj: Context):
        self._obj, self._bank = obj, None

    def __getattr__(self, name):
        if self._bank is None:
            self._bank = self._obj.open_bank()
        return getattr(self._bank, name)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        if self._bank is not None:
            self._bank.__exit__(*exc)
        return False


class Context:
    """What every command gets: where the bank is and who is acting (for the audit log)."""

    def __init__(self, bank_path: Path, user: str):
        self.bank_path = bank_path
        self.user = user
        self.banks: list = []
        self.started = time.perf_counter()
        self._watched: dict = {}

    def step(self, message: str) -> None:
        """A progress line on stderr for a step that takes a while (stdout keeps the result)."""
        click.echo(message, err=True)

    def waited(self) -> str:
        """How long the user has waited for this command, for its last line."""
        return f"Done in {time.perf_counter() - self.started:.1f} s."

    def open_bank(self, must_exist: bool = True):
        from itembank.store import Bank

        bank = Bank.open(self.bank_path, user=self.user, must_exist=must_exist)
        self.banks.append(bank)
        return bank

    def committed(self) -> str:
        """What the banks this command opened committed (audit actions and counts), for an interrupt."""
        return "; ".join(bank.committed_summary() for bank in self.banks if bank.committed_summary())

    def watch(self, *paths) -> None:
        """Outputs this command may write (each whole, by a rename): an interrupt names the ones it wrote."""
        self._watched.update({Path(p): _stamp(p) for p in paths if p is not None})

    def written(self) -> list[str]:
        """The watched outputs that were written (created or replaced) since ``watch``."""
        return [str(p) for p, before in self._watched.items() if p.exists() and _stamp(p) != before]

    def bank_on_demand(self) -> "BankOnDemand":
        """The bank, opened only if a library job uses it (see ``BankOnDemand``)."""
        return BankOnDemand(self)


def _stamp(path):
    """What tells a replaced file from the old one: inode and modification time (None when missing)."""
    try:
        st = os.stat(path)
    except OSError:
        return None
    return st.st_ino, st.st_mtime_ns


def fail(message: str, code: int = 2) -> None:
    click.echo(message, err=True)
    sys.exit(code)


class CertbankGroup(click.Group):
    """A click group that turns CertbankError into its message and exit code 2, with no traceback; so are the
    faults of the environment (a read-only or damaged bank, a full disk: ``environment_fault``). Ctrl-C says
    whether the bank was changed before it (exit 130)."""

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except CertbankError as err:
            click.echo(f"Error: {err}", err=True)
            ctx.exit(2)
        except Exception as err:
            fault = environment_fault(err, getattr(ctx.obj, "bank_path", None))
            if fault is None:
                raise
            click.echo(f"Error: {fault}", err=True)
            ctx.exit(2)
        except KeyboardInterrupt:
            changes = ctx.obj.committed() if isinstance(ctx.obj, Context) else ""
            files = ctx.obj.written() if isinstance(ctx.obj, Context) else []
            said = ([f"The bank was changed before the interrupt and keeps it: {changes}."] if changes else []) + \
                ([f"Written whole before the interrupt: {', '.join(files)}."] if files else [])
            click.echo("\nInterrupted. " + (" ".join(said) or "Nothing was changed."), err=True)
            ctx.exit(130)


def environment_fault(err: BaseException, bank_path) -> str | None:
    """The sentence for an error of the environment, not of certbank: None for anything else (a bug)."""
    import errno
    import sqlite3

    if isinstance(err, sqlite3.DatabaseError):
        from itembank.store import database_fault

        fault = database_fault(err, bank_path)
        return None if fault is None else str(fault)
    if isinstance(err, OSError) and err.errno in (errno.ENOSPC, errno.EDQUOT, errno.EFBIG, errno.EROFS):
        where = f" ({err.filename})" if err.filename else ""
        return (f"A file could not be written{where}: {err.strerror or os.strerror(err.errno)}. Free some space "
                "(or write elsewhere) and run the command again; nothing half-written was left.")
    return None


def default_user() -> str:
    try:
        return getpass.getuser()
    except Exception:  # no login name in some containers
        return os.environ.get("USER", "unknown")


@click.group(cls=CertbankGroup)
@click.option("--bank", "bank_path", type=click.Path(dir_okay=False, path_type=Path), envvar="CERTBANK_BANK",
              default="certbank.db", show_default=True, help="The item bank file (env CERTBANK_BANK).")
@click.option("--user", default=None, help="Who is acting, for the audit log (default: the OS user).")
@click.version_option(package_name="certbank")
@click.pass_context
def main(ctx, bank_path: Path, user: str | None):
    """certbank: bilingual item bank, form assembly and psychometrics for certification exams."""
    ctx.obj = Context(bank_path=bank_path, user=user or default_user())


pass_context = click.make_pass_decorator(Context)


# ---- section: item bank (init, frameworks, items, audit) ------------------------------------------------


def _print_frame(frame, fmt: str = "table", truncate: dict | None = None) -> None:
    """Print a DataFrame as an aligned table, CSV or JSON (records)."""
    if fmt == "csv":
        click.echo(frame.to_csv(index=False), nl=False)
    elif fmt == "json":
        click.echo(frame.to_json(orient="records", force_ascii=False, indent=1))
    elif frame.empty:
        click.echo("(none)")
    else:
        # a missing value reads as blank, whether SQLite gave None or pandas NaN
        shown = frame.astype(object).where(frame.notna(), "")
        for col, width in (truncate or {}).items():
            shown[col] = shown[col].astype(str).str.replace("\n", " ").map(
                lambda s, w=width: s if len(s) <= w else s[: w - 1] + "…")
        click.echo(shown.to_string(index=False))


_FORMAT = click.option("--format", "fmt", type=click.Choice(["table", "csv", "json"]), default="table",
                       show_default=True, help="Output format.")


@main.command()
@click.option("--sample", is_flag=True, help="Load the bundled peer-support sample program.")
@pass_context
def init(obj: Context, sample: bool):
    """Create a new bank (schema, WAL journal); with --sample also load the sample program."""
    from itembank.store import Bank

    if not sample:
        Bank.create(obj.bank_path, user=obj.user).close()
        click.echo(f"Created an empty bank at {obj.bank_path}.")
        return
    from itembank.sample_loader import create_sample_bank

    summary = create_sample_bank(obj.bank_path, user=obj.user)
    click.echo(f"Created {obj.bank_path} with the sample program: {summary['frameworks']} frameworks, "
               f"{summary['crosswalk_links']} crosswalk links, {summary['items']} items"
               + (f", blueprint {summary['blueprint']}." if summary["blueprint"] else "."))


@main.group()
def frameworks():
    """Competency frameworks (import, list, show)."""


@frameworks.command("import")
@click.argument("file", type=click.Path(path_type=Path))
@pass_context
def frameworks_import(obj: Context, file: Path):
    """Import a framework (TOML or CSV) or a crosswalk (TOML)."""
    from itembank.importing import import_frameworks

    with obj.open_bank() as bank:
        result = import_frameworks(bank, file)
    for fw in result["frameworks"]:
        click.echo(f"Framework {fw['framework']}: {fw['areas']} areas, {fw['competencies']} competencies.")
    if result["crosswalk_links"]:
        click.echo(f"Crosswalk: {result['crosswalk_links']} links.")


@frameworks.command("list")
@_FORMAT
@pass_context
def frameworks_list(obj: Context, fmt: str):
    """List the frameworks in the bank."""
    from itembank.listing import frameworks_frame

    with obj.open_bank() as bank:
        _print_frame(frameworks_frame(bank), fmt)


@frameworks.command("show")
@click.argument("code")
@pass_context
def frameworks_show(obj: Context, code: str):
    """Show a framework's areas, competencies and crosswalk links."""
    from itembank.listing import show_framework

    with obj.open_bank() as bank:
        click.echo(show_framework(bank, code))


@main.group()
def items():
    """Items: template, import, export, list, show, history, status, enemies."""


@items.command("template")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
def items_template(file: Path):
    """Write an empty, annotated .xlsx template of the item wide layout."""
    from itembank.exporting import write_template

    write_template(file)
    click.echo(f"Wrote the item template to {file}.")


_LINT_CONFIG = click.option("--lint-config", type=click.Path(dir_okay=False, path_type=Path), default=None,
                            envvar="CERTBANK_LINT_CONFIG",
                            help="Item-check rules (TOML; default: the shipped one; env CERTBANK_LINT_CONFIG).")


@items.command("import")
@click.argument("file", type=click.Path(path_type=Path))
@_LINT_CONFIG
@pass_context
def items_import(obj: Context, file: Path, lint_config):
    """Import items from .xlsx, .csv, .json or a QTI 2.1 package .zip (the whole file is checked and linted
    first; blocking findings refuse it; nothing changes on error)."""
    from itembank.importing import import_item_file

    with obj.open_bank() as bank:
        result, warnings = import_item_file(bank, file, lint_config=lint_config)
    for line in warnings:
        click.echo(f"Warning: {line}", err=True)
    click.echo(f"Imported {file}: {len(result['created'])} new items, {len(result['new_version'])} new "
               f"versions, {len(result['unchanged'])} unchanged, {len(result['status_changed'])} status changes.")


@items.command("export")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--format", "fmt", type=click.Choice(["wide", "qti"]), default="wide", show_default=True,
              help="wide: .xlsx, .csv or .json by extension; qti: a QTI 2.1 content package .zip.")
@click.option("--lang", "languages", multiple=True, help="With --format qti: language(s) to export (default en).")
@click.option("--status", "statuses", multiple=True, help="With --format qti: only items with this status.")
@pass_context
def items_export(obj: Context, file: Path, fmt: str, languages, statuses):
    """Export every item (current version) to .xlsx, .csv or .json (format from the extension), or a
    selection as QTI 2.1 (one assessmentItem per item and language; the key only in correctResponse)."""
    from itembank.exporting import export_items

    if fmt == "qti":
        from itembank.qti_export import KEY_NOTE, export_items_qti

        with obj.open_bank() as bank:
            n = export_items_qti(bank, file, languages or ("en",), statuses)
        click.echo(f"Exported {n} items to {file}. {KEY_NOTE}")
        return
    with obj.open_bank() as bank:
        n = export_items(bank, file)
    click.echo(f"Exported {n} items to {file}.")


@items.command("lint")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path), required=False)
@click.option("--status", "statuses", multiple=True, help="Only bank items with this status (repeatable).")
@_LINT_CONFIG
@_FORMAT
@pass_context
def items_lint(obj: Context, file, statuses, lint_config, fmt: str):
    """Item-writing and translation checks on the bank's items, or on FILE (.xlsx, .csv, .json, QTI .zip)."""
    from itembank.lint_run import lint_items, summary

    with obj.bank_on_demand() as bank:
        frame = lint_items(bank, file=file, statuses=statuses, config=lint_config)
    _print_frame(frame, fmt, truncate={"message": 70, "suggestion": 50})
    click.echo(summary(frame), err=True)


@items.command("list")
@click.option("--status", default=None, help="Only items with this status.")
@click.option("--competency", default=None, help="Competency code or prefix, e.g. SAMHSA.IX.")
@click.option("--complete", "complete", default=None, metavar="LANG", help="Only items reviewed in LANG.")
@click.option("--incomplete", default=None, metavar="LANG", help="Only items missing or unreviewed in LANG.")
@click.option("--search", default=None, help="Text to find in stems, options, rationales, keywords.")
@_FORMAT
@pass_context
def items_list(obj: Context, status, competency, complete, incomplete, search, fmt):
    """List items (current versions) with filters."""
    from itembank.listing import list_items

    with obj.open_bank() as bank:
        frame = list_items(bank, status=status, competency=competency, complete=complete,
                           incomplete=incomplete, search=search)
    _print_frame(frame, fmt, truncate={"stem_en": 50})


@items.command("show")
@click.argument("item_id")
@click.option("--lang", default="en", show_default=True, help="Language to show.")
@pass_context
def items_show(obj: Context, item_id: str, lang: str):
    """Show one item in full, key marked with *."""
    from itembank.listing import show_item

    with obj.open_bank() as bank:
        click.echo(show_item(bank, item_id, lang))


@items.command("history")
@click.argument("item_id")
@_FORMAT
@pass_context
def items_history(obj: Context, item_id: str, fmt: str):
    """Versions and status changes of an item."""
    from itembank.listing import item_history

    with obj.open_bank() as bank:
        _print_frame(item_history(bank, item_id), fmt)


@items.command("stats")
@click.argument("item_id")
@_FORMAT
@pass_context
def items_stats(obj: Context, item_id: str, fmt: str):
    """Every administration's N, P, corrected point-biserial and IRT parameters of an item, by group, oldest first."""
    from workflows.administrations import item_stats

    with obj.open_bank() as bank:
        _print_frame(item_stats(bank, item_id), fmt)


@items.command("promote")
@click.option("--administration", "administration_id", required=True,
              help="The administration whose pretest results are reviewed (its form's pretest items).")
@click.option("--dif", "dif_file", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="DIF results of that administration (dif.csv from `certbank dif`): class C blocks promotion.")
@click.option("--apply", is_flag=True, help="Move the items that meet the criteria to operational (else only list).")
@click.option("--reason", default=None, help="Reason recorded in the audit log beside each item's evidence.")
@_FORMAT
@pass_context
def items_promote(obj: Context, administration_id: str, dif_file, apply: bool, reason, fmt: str):
    """List pretest items whose pretest meets the bank's criteria (N, P, corrected r, bank-scale IRT, DIF);
    with --apply move them to operational."""
    from workflows.administrations import promotion_review

    with obj.open_bank() as bank:
        run = promotion_review(bank, administration_id, dif_file=dif_file, apply=apply, reason=reason)
    _print_frame(run.to_frame(), fmt)
    click.echo(run.message(), err=fmt != "table")


@items.command("status")
@click.argument("item_id")
@click.argument("new_status")
@click.option("--reason", required=True, help="Why the item moves (recorded in the audit log).")
@pass_context
def items_status(obj: Context, item_id: str, new_status: str, reason: str):
    """Move an item along its lifecycle (draft, review, approved, pretest, operational, retired)."""
    with obj.open_bank() as bank:
        change = bank.set_status(item_id, new_status, reason)
    click.echo(f"{item_id}: {change.from_status.value} -> {change.to_status.value}.")


@items.group("enemies")
def items_enemies():
    """Enemy pairs: items that must never share a form."""


@items_enemies.command("add")
@click.argument("item_a")
@click.argument("item_b")
@pass_context
def items_enemies_add(obj: Context, item_a: str, item_b: str):
    """Record that ITEM_A and ITEM_B are enemies (symmetric)."""
    with obj.open_bank() as bank:
        added = bank.add_enemy(item_a, item_b)
    click.echo(f"{item_a} and {item_b} are enemies" + ("." if added else " (already recorded)."))


@items_enemies.command("remove")
@click.argument("item_a")
@click.argument("item_b")
@pass_context
def items_enemies_remove(obj: Context, item_a: str, item_b: str):
    """Forget that ITEM_A and ITEM_B are enemies."""
    with obj.open_bank() as bank:
        removed = bank.remove_enemy(item_a, item_b)
    click.echo(f"{item_a} and {item_b} are no longer enemies." if removed
               else f"{item_a} and {item_b} were not enemies.")


@main.command()
@click.option("--item", "item_id", default=None, help="Only entries about this item.")
@_FORMAT
@pass_context
def audit(obj: Context, item_id: str | None, fmt: str):
    """The append-only audit log (who, when, what, before/after)."""
    from itembank.listing import audit_frame

    with obj.open_bank() as bank:
        _print_frame(audit_frame(bank, item_id), fmt, truncate={"before": 40, "after": 60})


@main.group()
def administrations():
    """Deliveries of a form: testing window, candidates by language, the response file's SHA-256."""


@administrations.command("add")
@click.argument("administration_id", required=False)
@click.option("--form", "form_id", required=True, help="The form delivered.")
@click.option("--window-start", default=None, help="First testing day (YYYY-MM-DD).")
@click.option("--window-end", default=None, help="Last testing day (YYYY-MM-DD).")
@click.option("--candidates", "n_candidates", type=int, default=None, help="Number of candidates.")
@click.option("--languages", "language_counts", default=None, help="Candidates by language, e.g. en=2000,es=1000.")
@click.option("--responses", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="The response file, to record its SHA-256 (one file is one administration).")
@click.option("--notes", default="", help="Free text kept with the record.")
@pass_context
def administrations_add(obj: Context, administration_id, form_id, window_start, window_end, n_candidates,
                        language_counts, responses, notes):
    """Record an administration of a form (ID optional: FORM-DATE by default)."""
    from workflows.administrations import add

    with obj.open_bank() as bank:
        adm = add(bank, administration_id, form_id, window_start=window_start, window_end=window_end,
                  n_candidates=n_candidates, language_counts_text=language_counts, responses=responses, notes=notes)
    click.echo(f"Administration {adm.administration_id} of form {adm.form_id} recorded.")


@administrations.command("list")
@_FORMAT
@pass_context
def administrations_list(obj: Context, fmt: str):
    """Every administration, oldest testing window first."""
    with obj.open_bank() as bank:
        _print_frame(bank.list_administrations(), fmt)


@administrations.command("show")
@click.argument("administration_id")
@pass_context
def administrations_show(obj: Context, administration_id: str):
    """One administration: its record, parameter sets and statistics saved from it."""
    from workflows.administrations import show

    with obj.open_bank() as bank:
        click.echo(show(bank, administration_id))


# ---- end section: item bank ------------------------------------------------------------------------------

# ---- section: responses and classical item analysis (analyze) ---------------------------------------------




@main.command()
@click.argument("responses", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--form", "form_id", default=None, help="Score with the key of this bank form (and save against its item versions).")
@click.option("--key", "key_file", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Score with a key file (item_id,key). Not needed for 0/1 data.")
@click.option("--out", "outdir", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="Directory for items.csv, options.csv, quantiles.csv, test.json, flags.csv.")
@click.option("--group", "group_column", default=None, help="Also analyse each value of this column (e.g. language).")
@click.option("--areas", "areas_file", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="item_id,area file for subscores (with --form the bank's areas are used).")
@click.option("--quantiles", default=5, show_default=True, type=click.IntRange(3, 9), help="Score groups in quantiles.csv.")
@click.option("--numeric-options", is_flag=True, help="Cells are option numbers 1–6 (= A–F).")
@click.option("--no-not-reached", is_flag=True, help="Treat trailing blanks as omits, not as not reached.")
@click.option("--omits-excluded", is_flag=True, help="Leave omits out of an item's N (default: they count as wrong).")
@click.option("--not-reached-wrong", is_flag=True,
              help="Count not-reached candidates in an item's N as wrong (default: left out).")
@click.option("--uncorrected", is_flag=True, help="Correlate items with the total score, not the rest score.")
@click.option("--threshold", "thresholds", multiple=True, metavar="NAME=VALUE",
              help="Change a flag threshold, e.g. --threshold rpbis_review=0.15 (repeatable).")
@click.option("--save-to-bank", is_flag=True, help="With --form: save the item statistics in the bank's history.")
@click.option("--administration", "administration_id", default=None,
              help="With --save-to-bank: the administration the responses come from (created on first use; "
                   "default: the one this file is attached to, else FORM-DATE).")
@click.option("--label", default=None, help="Analysis label stored with --save-to-bank (default: form and file name).")
@click.option("--report", "report_path", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Also write the item-analysis workbook (.xlsx) for the board, with DIF by language.")
@click.option("--irt", "irt_model", type=click.Choice(["rasch", "1pl", "2pl", "3pl"]), default=None,
              help="With --report: calibrate this IRT model and add the IRT sheet and IRT flags.")
@click.option("--force", is_flag=True, help="Replace an existing --report workbook.")
@pass_context
def analyze(obj: Context, responses: Path, form_id, key_file, outdir: Path, group_column, areas_file, quantiles,
            numeric_options, no_not_reached, omits_excluded, not_reached_wrong, uncorrected, thresholds,
            save_to_bank, administration_id, label, report_path, irt_model, force):
    """Classical item analysis of a response file (.csv/.xlsx): items, options, quantiles, test, flags."""
    from certbank_core.errors import InputError
    from workflows.analysis import analyze_file, parse_thresholds, save_and_write, staged_file
    from workflows.bundles import analysis_workbook, check_workbook_path, workbook_flags, write_item_analysis_workbook

    if report_path:
        check_workbook_path(report_path, force)
    if irt_model and not report_path:
        raise InputError("--irt adds the IRT sheet of the --report workbook; give --report FILE.xlsx too, or run "
                         "`certbank calibrate` for IRT parameters on their own.")
    if save_to_bank and not form_id:
        raise InputError("--save-to-bank needs --form (statistics are saved against the form's item versions).")
    limits = parse_thresholds(thresholds)
    obj.watch(outdir, report_path)
    obj.step(f"Reading and analysing {responses.name} ...")
    if form_id:
        with obj.open_bank() as bank:
            run = analyze_file(bank, responses, form_id=form_id, key_file=key_file, areas_file=areas_file,
                               group_column=group_column, numeric_options=numeric_options,
                               not_reached_rule=not no_not_reached, thresholds=limits, quantiles=quantiles,
                               corrected=not uncorrected, omits_in_n=not omits_excluded,
                               not_reached_in_n=not_reached_wrong)
    else:
        run = analyze_file(None, responses, key_file=key_file, areas_file=areas_file, group_column=group_column,
                           numeric_options=numeric_options, not_reached_rule=not no_not_reached, thresholds=limits,
                           quantiles=quantiles, corrected=not uncorrected, omits_in_n=not omits_excluded,
                           not_reached_in_n=not_reached_wrong)
    workbook = None
    if report_path:
        obj.step(f"{'IRT calibration (' + irt_model + ') and ' if irt_model else ''}DIF for the workbook ...")
        with obj.bank_on_demand() as bank:
            workbook = analysis_workbook(run, bank if form_id else None, responses, irt_model=irt_model,
                                         settings={"quantiles": quantiles, "irt": irt_model or "none",
                                                   "form": form_id or "", "key": str(key_file or "")})
    extra_flags = workbook_flags(workbook)
    with staged_file(report_path if workbook is not None else None) as staged:  # the workbook first, moved last
        if workbook is not None:
            obj.step(f"Writing the workbook {report_path} ...")
            write_item_analysis_workbook(workbook, staged, force=True)
        if save_to_bank:
            with obj.open_bank() as bank:
                written = save_and_write(run, outdir, bank, label or f"{form_id} {responses.name}",
                                         responses=responses, administration_id=administration_id,
                                         extra_flags=extra_flags)
        else:
            written = save_and_write(run, outdir, extra_flags=extra_flags)
    click.echo(run.message(outdir, written, report_path, extra_flags) + " " + obj.waited())


# ---- end section: responses and classical item analysis ---------------------------------------------------

# ---- section: IRT (calibrate, score, link) -----------------------------------------------------------------


@main.command()
@click.argument("responses", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--form", "form_id", default=None, help="Score with this bank form's key (and save against its versions).")
@click.option("--key", "key_file", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Score with a key file (item_id,key). Not needed for 0/1 data.")
@click.option("--model", type=click.Choice(["rasch", "1pl", "2pl", "3pl"], case_sensitive=False), default="2pl",
              show_default=True, help="rasch: slopes 1, latent SD estimated; 1pl: common slope; 3pl: Beta(5,17) prior on c.")
@click.option("--scale", "D", type=float, default=1.0, show_default=True, help="Scaling constant D of a, b, c (1.702: normal metric).")
@click.option("--engine", type=click.Choice(["certbank", "girth"], case_sensitive=False), default="certbank",
              show_default=True, help="Estimation engine (girth: independent check; no anchors, no SEs, no 3PL on numpy ≥ 2.4).")
@click.option("--quadrature-points", "n_nodes", type=click.IntRange(5, 201), default=61, show_default=True,
              help="Quadrature nodes (equally spaced on [-6, 6]).")
@click.option("--gauss-hermite", is_flag=True, help="Gauss–Hermite nodes instead of equally spaced ones.")
@click.option("--link", type=click.Choice(["stocking-lord", "fixed-anchor"], case_sensitive=False),
              default="stocking-lord", show_default=True,
              help="How a --form with calibrated items goes onto the bank scale: free calibration + Stocking–Lord, or anchors held fixed.")
@click.option("--no-drift-check", is_flag=True, help="Keep every anchor (skip the drift screening of the common items).")
@click.option("--anchor-from-bank", is_flag=True, help="Hold items that have bank parameters fixed (= --link fixed-anchor, also without --form).")
@click.option("--save", is_flag=True, help="Store the estimated parameters in the bank as a new parameter set (anchors keep their bank values).")
@click.option("--new-scale", is_flag=True, help="With --save: this calibration starts a new bank scale (refused otherwise when it cannot be linked).")
@click.option("--administration", "administration_id", default=None,
              help="With --save and --form: the administration the responses come from (created on first use).")
@click.option("--label", default=None, help="Calibration label stored with --save (default: model and file name).")
@click.option("--guessing-prior", default="beta:5,17", show_default=True,
              help="Prior on the 3PL lower asymptote c: none, or beta:A,B (Beta(A, B); the default has mode .2).")
@click.option("--slope-prior", default="none", show_default=True,
              help="Prior on the 2PL/3PL slopes a: none, or lognormal:M,S (log a ~ N(M, S²)).")
@click.option("--estimation", type=click.Choice(["mml", "cml"], case_sensitive=False), default="mml",
              show_default=True,
              help="mml: marginal maximum likelihood (every model); cml: conditional ML of the Rasch "
                   "difficulties (Σ b = 0, free of any assumption about the θ distribution; --model rasch).")
@click.option("--min-candidates", "min_persons", default=None, type=click.IntRange(min=2),
              help="The fewest candidates to calibrate with (3PL: answering each item); default 20 Rasch/1PL, "
                   "100 2PL, 500 3PL.")
@click.option("--out", "out", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="params.csv to write; calibration.json and irt_flags.csv (and anchors.csv) go beside it.")
@pass_context
def calibrate(obj: Context, responses: Path, form_id, key_file, model, D, engine, n_nodes, gauss_hermite, link,
              no_drift_check, anchor_from_bank, save, new_scale, administration_id, label, guessing_prior,
              slope_prior, estimation, min_persons, out: Path):
    """Calibrate items by marginal maximum likelihood (IRT) and write their parameters, fit and flags; a bank
    form with calibrated items is put on the bank scale, its anchors screened for drift."""
    from certbank_core.errors import InputError
    from workflows.calibration import calibrate_file

    if (new_scale or administration_id) and not save:
        raise InputError("--new-scale and --administration go with --save.")
    priors = dict(guessing_prior=_prior_option("--guessing-prior", guessing_prior, "beta"),
                  slope_prior=_prior_option("--slope-prior", slope_prior, "lognormal"))
    obj.step(f"Calibrating {model.upper()} on {responses.name} (item fit{', linking to the bank scale' if form_id else ''}) ...")
    with obj.bank_on_demand() as bank:
        run = calibrate_file(bank, responses, form_id=form_id, key_file=key_file, model=model, D=D, engine=engine,
                             n_nodes=n_nodes, quadrature_method="gauss-hermite" if gauss_hermite else "equal",
                             anchor_from_bank=anchor_from_bank, link=link, drift=not no_drift_check,
                             min_persons=min_persons, estimation=estimation, **priors)
        run.write(out, bank=bank if save else None, label=label, administration_id=administration_id,
                  new_scale=new_scale)
    click.echo(run.message(out) + "\n" + obj.waited())
    for warning in run.warnings:
        click.echo(f"Warning: {warning}", err=True)


def _prior_option(option: str, text: str, family: str):
    """'none' → None; 'FAMILY:X,Y' → (X, Y) as floats (Beta: both > 0; lognormal: S > 0)."""
    import math

    from certbank_core.errors import InputError

    text = str(text).strip().lower()
    if text == "none":
        return None
    usage = f"{option} must be none or {family}:{'A,B' if family == 'beta' else 'M,S'}, got {text!r}."
    name, _, values = text.partition(":")
    parts = values.split(",")
    if name != family or len(parts) != 2:
        raise InputError(usage)
    try:
        x, y = (float(v) for v in parts)
    except ValueError:
        raise InputError(usage) from None
    if not (math.isfinite(x) and math.isfinite(y)) or y <= 0 or (family == "beta" and x <= 0):
        raise InputError(f"{option}: {'both Beta parameters' if family == 'beta' else 'the SD S'} must be "
                         f"positive, got {text!r}.")
    return (x, y)


@main.command()
@click.argument("responses", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--params", "params_file", default=None, type=click.Path(dir_okay=False, path_type=Path),
              help="Item parameters (params.csv from calibrate: item_id, a, b, c, D); not needed with --form.")
@click.option("--form", "form_id", default=None,
              help="Score with this bank form's key and its bank-scale parameters (raw, θ, SE); with --standard "
                   "also scaled score and pass/fail.")
@click.option("--standard", "standard_name", default=None,
              help="Report raw, θ, scaled, pass/fail and areas against this standard (bank name or .json).")
@click.option("--key", "key_file", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Score option labels with a key file (item_id,key). Not needed for 0/1 data.")
@click.option("--method", type=click.Choice(["eap", "map", "mle", "wle"], case_sensitive=False), default="eap",
              show_default=True, help="EAP (posterior mean), MAP, MLE (bounded ±4 for zero/perfect) or WLE.")
@click.option("--administration", "administration_id", default=None,
              help="The administration these responses come from (reported; its form is used without --form).")
@click.option("--out", "out", default=None, type=click.Path(dir_okay=False, path_type=Path),
              help="thetas.csv to write (needed unless --reports is given).")
@click.option("--reports", "reports_dir", default=None, type=click.Path(file_okay=False, path_type=Path),
              help="With --form and --standard: write one PDF score report per candidate, a merged PDF and a "
                   "program summary into this folder.")
@click.option("--lang", "lang", type=click.Choice(["auto", "en", "es"], case_sensitive=False), default="auto",
              show_default=True, help="Report language: 'auto' takes each candidate's language column.")
@click.option("--settings", "settings_file", default=None, type=click.Path(dir_okay=False, path_type=Path),
              help="Program settings for the reports (TOML: name, retake rules, contact; default: the sample's).")
@pass_context
def score(obj: Context, responses: Path, params_file: Path, key_file, method, out: Path, form_id, standard_name,
          administration_id, reports_dir, lang, settings_file):
    """Estimate each candidate's θ from RESPONSES with known item parameters (--params) or a bank form's
    bank-scale parameters (--form: raw, θ and SE); with --standard, report raw, θ, scaled score, pass/fail and
    competency areas instead; with --reports DIR also each candidate's PDF score report."""
    from workflows.scoring import score_file

    if reports_dir is not None:
        _score_reports(obj, responses, form_id, standard_name, administration_id, reports_dir, lang,
                       settings_file, out)
        return
    if out is None:
        raise click.UsageError("Give --out FILE (or --reports DIR with --form and --standard).")
    if params_file is None and not (standard_name or form_id or administration_id):
        raise click.UsageError("Give --params FILE, or --form ID (with or without --standard NAME).")
    with obj.bank_on_demand() as bank:
        run = score_file(bank, responses, params_file=params_file, key_file=key_file, method=method,
                         form_id=form_id, standard=standard_name, administration_id=administration_id)
    run.write(out)
    click.echo(run.message(out))


def _score_reports(obj: Context, responses, form_id, standard_name, administration_id, reports_dir, lang,
                   settings_file, out) -> None:
    """`score --reports DIR`: the candidates' PDF score reports (and the scores CSV with --out)."""
    from workflows.candidate_reports import write_candidate_reports

    if not standard_name:
        raise click.UsageError("--reports needs --standard NAME (and --form ID or --administration ID).")
    with obj.bank_on_demand() as bank:
        run = write_candidate_reports(bank, responses, form_id=form_id, standard=standard_name,
                                      reports_dir=reports_dir, lang=lang, settings_file=settings_file,
                                      administration_id=administration_id)
    if out is not None:
        run.scores.write(out)
        click.echo(run.scores.message(out))
    click.echo(run.message())


# ---- end section: IRT ----------------------------------------------------------------------------------------

# ---- section: blueprints and assembly (blueprint, assemble, forms) -----------------------------------------


@main.group()
def blueprint():
    """Blueprints: check one against the bank before assembling."""


@blueprint.command("check")
@click.argument("file")
@click.option("--forms", "n_forms", type=click.IntRange(min=1), default=1, show_default=True,
              help="How many forms the bank must supply.")
@click.option("--time-limit", type=click.FloatRange(min=0.1), default=20.0, show_default=True,
              help="Seconds for the trial assembly.")
@pass_context
def blueprint_check(obj: Context, file: str, n_forms: int, time_limit: float):
    """Validate blueprint FILE (.toml/.csv/.xlsx, a stored blueprint's name, or 'default') and check the bank
    can supply the forms. Exit code 2 when it cannot, with the reasons."""
    from certbank_core.errors import AssemblyError
    from workflows.assembly import check_blueprint_file, render_feasibility

    with obj.open_bank() as bank:
        report = check_blueprint_file(bank, file, n_forms=n_forms, time_limit=time_limit)
    if not report.feasible:
        raise AssemblyError(render_feasibility(report))
    click.echo(render_feasibility(report))


@main.command()
@click.argument("file")
@click.option("--forms", "n_forms", type=click.IntRange(min=1), default=1, show_default=True,
              help="How many parallel forms to assemble in one run (they share the blueprint's common block).")
@click.option("--seed", type=int, default=None, help="Seed: same seed, same forms.")
@click.option("--time-limit", type=click.FloatRange(min=0.1), default=60.0, show_default=True,
              help="Solver time limit in seconds.")
@click.option("--gap", type=click.FloatRange(min=0.0, max=1.0), default=0.01, show_default=True,
              help="Relative MIP gap at which the solver may stop.")
@click.option("--name", default=None, help="Form name prefix (default: the blueprint's exam name).")
@pass_context
def assemble(obj: Context, file: str, n_forms: int, seed, time_limit: float, gap: float, name):
    """Assemble N parallel forms from blueprint FILE and save them in the bank as drafts."""
    from workflows.assembly import assemble_into_bank

    with obj.open_bank() as bank:
        saved = assemble_into_bank(bank, file, n_forms=n_forms, seed=seed, time_limit=time_limit, gap=gap,
                                   name=name)
    click.echo(saved.summary())


@main.group()
def forms():
    """Forms: list, show, approve, publish, export."""


@forms.command("list")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True,
              help="Output format.")
@pass_context
def forms_list(obj: Context, fmt: str):
    """List the forms in the bank."""
    with obj.open_bank() as bank:
        frame = bank.list_forms()
    if fmt == "json":
        click.echo(frame.to_json(orient="records", indent=2))
    else:
        # a form not yet published has no published_at: a blank cell, not "NaN" or "None"
        shown = frame.astype(object).where(frame.notna(), "")
        click.echo(shown.to_string(index=False) if len(frame) else "No forms yet.")


@forms.command("show")
@click.argument("form_id")
@pass_context
def forms_show(obj: Context, form_id: str):
    """Show a form: header and its items in order."""
    from workflows.assembly import show_form

    with obj.open_bank() as bank:
        click.echo(show_form(bank, form_id))


@forms.command("approve")
@click.argument("form_id")
@pass_context
def forms_approve(obj: Context, form_id: str):
    """Approve a draft form."""
    with obj.open_bank() as bank:
        bank.set_form_status(form_id, "approved")
    click.echo(f"Form {form_id} approved.")


@forms.command("publish")
@click.argument("form_id")
@pass_context
def forms_publish(obj: Context, form_id: str):
    """Publish an approved form: it is frozen and its items' exposure counts go up by one."""
    with obj.open_bank() as bank:
        bank.set_form_status(form_id, "published")
    click.echo(f"Form {form_id} published (frozen).")


@forms.command("export")
@click.argument("form_id")
@click.option("--format", "fmt", type=click.Choice(["csv", "json", "xlsx", "qti", "booklet"]), default="csv",
              show_default=True)
@click.option("--out", type=click.Path(dir_okay=False), default=None, help="Output file (default: stdout).")
@click.option("--force", is_flag=True, help="Replace an existing xlsx file.")
@click.option("--lang", default="en", show_default=True,
              help="With --format qti or booklet: the language of the package or booklet.")
@click.option("--settings", "settings_file", default=None, type=click.Path(dir_okay=False, path_type=Path),
              help="With --format booklet: program settings naming the program (default: the sample's).")
@pass_context
def forms_export(obj: Context, form_id: str, fmt: str, out, force: bool, lang: str, settings_file):
    """Export a form map (position, item, version, competency, key, statistics) as csv, json or xlsx
    (xlsx: the form workbook with conformance, TIF/TCC, key distribution, booklets and the answer key),
    as a QTI 2.1 content package (qti: --out FORM.zip, one language), or as the candidate booklet of one
    language without the key (booklet: --out FILE.xlsx)."""
    from workflows.assembly import export_form

    if fmt == "qti":
        from workflows.assembly import export_form_qti

        if not out:
            raise click.UsageError("--format qti needs --out FORM.zip")
        with obj.open_bank() as bank:
            click.echo(export_form_qti(bank, form_id, lang, out))
        return
    if fmt == "booklet":
        from workflows.booklets import write_booklet

        with obj.bank_on_demand() as bank:
            click.echo(write_booklet(bank, form_id, lang, out, force=force, settings_file=settings_file))
        return
    if fmt == "xlsx":
        from workflows.bundles import write_form_workbook

        with obj.open_bank() as bank:
            written = write_form_workbook(bank, form_id, out, force=force)
    else:
        with obj.open_bank() as bank:
            written = export_form(bank, form_id, fmt, out)
    click.echo(f"Wrote {written}" if out else written)

# ---- end section: blueprints and assembly --------------------------------------------------------------------

# ---- section: job task analysis (jta) --------------------------------------------------------------------------


@main.group()
def jta():
    """Job (practice) analysis: the survey template, and from the ratings to the blueprint's weights."""


@jta.command("template")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--framework", "framework_code", required=True, help="Framework code in the bank, e.g. SAMHSA.")
@click.option("--force", is_flag=True, help="Replace an existing file.")
@pass_context
def jta_template(obj: Context, file: Path, framework_code: str, force: bool):
    """Write the survey for every competency of a framework: FILE.xlsx (instructions, competencies in English
    and Spanish, rating scales, the Responses sheet) or FILE.csv (the header row of the same layout)."""
    from workflows.jta import write_template

    with obj.bank_on_demand() as bank:
        written = write_template(bank, file, framework_code, force=force)
    click.echo(f"Wrote {written}")


@jta.command("analyze")
@click.argument("responses", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--framework", "framework_code", required=True, help="Framework code in the bank, e.g. SAMHSA.")
@click.option("--out", "outdir", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="Folder for competencies.csv, areas.csv, subgroups.csv, summary.json, jta_report.xlsx.")
@click.option("--blueprint", "blueprint_out", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Also write a blueprint TOML with the new area counts.")
@click.option("--length", type=click.IntRange(min=1), default=120, show_default=True, help="Test length (scored items).")
@click.option("--base", default="default", show_default=True, help="Base blueprint whose other rules are kept.")
@click.option("--min-importance", type=click.FloatRange(0, 4), default=2.0, show_default=True,
              help="Inclusion rule: lowest mean importance (0-4) of a tested competency.")
@click.option("--max-not-performed", type=click.FloatRange(0, 1), default=0.5, show_default=True,
              help="Inclusion rule: largest share of respondents who do not perform a tested competency.")
@click.option("--min-per-area", type=click.IntRange(min=0), default=8, show_default=True, help="Fewest items per area.")
@click.option("--min-subgroup", type=click.IntRange(min=2), default=30, show_default=True,
              help="Fewest respondents in a group that is compared.")
@click.option("--subgroup", "subgroups", multiple=True, default=("language", "setting", "experience"),
              show_default=True, help="Background variable to compare groups on (repeat); experience = years banded.")
@click.option("--no-bank-cap", is_flag=True, help="Do not cap an area's count at the items the bank can supply.")
@pass_context
def jta_analyze(obj: Context, responses: Path, framework_code, outdir: Path, blueprint_out, length, base,
                min_importance, max_not_performed, min_per_area, min_subgroup, subgroups, no_bank_cap):
    """Analyse a filled-in job-analysis survey: competency statistics and inclusion, agreement, subgroup
    differences, area weights and item counts; with --blueprint a blueprint that `blueprint check` accepts."""
    from workflows.jta import analyze_survey

    with obj.bank_on_demand() as bank:
        outcome = analyze_survey(bank, responses, framework_code, outdir, blueprint_out=blueprint_out,
                                 length=length, base=base, min_importance=min_importance,
                                 max_not_performed=max_not_performed,
                                 min_per_area=min_per_area, min_subgroup=min_subgroup, subgroups=subgroups,
                                 cap_to_bank=not no_bank_cap)
    click.echo("\n".join(outcome.lines()))

# ---- end section: job task analysis -------------------------------------------------------------------------------

# ---- section: standard setting and equating (cutscore, standard, equate) --------------------------------------


@main.group()
def cutscore():
    """Recommend a cut score: modified Angoff, Bookmark, Hofstee, Beuk."""


@cutscore.command("angoff")
@click.argument("ratings", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--form", "form_id", default=None, help="The reference form (bank): its items and parameters.")
@click.option("--params", "params_file", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Instead of --form: item parameters file (item_id, a, b, c) in form order.")
@click.option("--raters", "raters_file", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Panel roster (.csv with rater_id); ratings by anyone else are errors.")
@click.option("--scores", "scores_file", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Candidates' raw scores on the form (column score, optional language): adds impact.csv.")
@click.option("--group", "group_column", default="language", show_default=True, help="Group column for impact.")
@click.option("--out", "outdir", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="Directory for raters.csv, rounds.csv, summary.json (and impact.csv).")
@click.option("--report", "report_path", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Also write the standard-setting workbook (.xlsx) for the board.")
@click.option("--carry-to", "carry_to", multiple=True,
              help="With --form and --report: other forms (bank) to show the carried standard on (repeatable).")
@click.option("--force", is_flag=True, help="Replace an existing --report workbook.")
@pass_context
def cutscore_angoff(obj: Context, ratings: Path, form_id, params_file, raters_file, scores_file, group_column,
                    outdir: Path, report_path, carry_to, force):
    """Modified Angoff cut from a ratings file (long: rater_id, item_id, rating[, round, metadata…];
    or wide: rater_id[, round], one column per item). Ratings are probabilities 0–1."""
    from workflows.bundles import check_workbook_path, write_angoff_workbook
    from workflows.standards import angoff_study

    if report_path:
        check_workbook_path(report_path, force)
    with obj.bank_on_demand() as bank:
        study = angoff_study(bank, ratings, form_id=form_id, params_file=params_file, raters_file=raters_file,
                             scores_file=scores_file, group_column=group_column, carry=bool(report_path),
                             carry_to=carry_to)
    if report_path:
        write_angoff_workbook(study, report_path, force=force)
    study.write(outdir)
    click.echo(study.message(outdir, report_path))


@cutscore.command("bookmark")
@click.option("--form", "form_id", default=None, help="The form (bank) whose items make the ordered booklet.")
@click.option("--params", "params_file", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Instead of --form: item parameters file (item_id, a, b, c).")
@click.option("--pages", required=True, help="Each panelist's bookmark page, comma-separated (e.g. 31,34,35).")
@click.option("--rp", default=0.67, show_default=True, type=click.FloatRange(0, 1, min_open=True, max_open=True),
              help="Response-probability criterion.")
@click.option("--out", "outdir", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="Directory for the ordered item booklet, the cut and summary.json.")
@pass_context
def cutscore_bookmark(obj: Context, form_id, params_file, pages: str, rp: float, outdir: Path):
    """Bookmark (item mapping) cut: median θ of the panelists' bookmarked pages; writes booklet.csv too."""
    from workflows.standards import bookmark_study

    with obj.bank_on_demand() as bank:
        study = bookmark_study(bank, pages, form_id=form_id, params_file=params_file, rp=rp)
    study.write(outdir)
    click.echo(study.message(outdir))


def _compromise(kind: str, scores: Path, judgments: Path, n_items: int, outdir: Path):
    from workflows.standards import compromise_study

    study = compromise_study(kind, scores, judgments, n_items)
    study.write(outdir)
    click.echo(study.message(outdir))


@cutscore.command("hofstee")
@click.argument("scores", type=click.Path(dir_okay=False, path_type=Path))
@click.argument("judgments", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--items", "n_items", required=True, type=click.IntRange(1), help="Number of scored items.")
@click.option("--out", "outdir", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="Directory for the compromise cut and summary.json.")
def cutscore_hofstee(scores: Path, judgments: Path, n_items: int, outdir: Path):
    """Hofstee compromise: SCORES (.csv, column score), JUDGMENTS (k_min, k_max, f_min, f_max in percent)."""
    _compromise("hofstee", scores, judgments, n_items, outdir)


@cutscore.command("beuk")
@click.argument("scores", type=click.Path(dir_okay=False, path_type=Path))
@click.argument("judgments", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--items", "n_items", required=True, type=click.IntRange(1), help="Number of scored items.")
@click.option("--out", "outdir", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="Directory for the compromise cut and summary.json.")
def cutscore_beuk(scores: Path, judgments: Path, n_items: int, outdir: Path):
    """Beuk compromise: SCORES (.csv, column score), JUDGMENTS (cut, pass_rate in percent)."""
    _compromise("beuk", scores, judgments, n_items, outdir)


@main.group()
def standard():
    """Keep one standard (a θ cut) across forms: set it, apply it to a form."""


@standard.command("set")
@click.argument("name")
@click.option("--theta", "theta_cut", type=float, default=None, help="The θ cut on the bank scale.")
@click.option("--from-angoff", "angoff_dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Take the θ cut from a `cutscore angoff --out DIR` (or bookmark) result.")
@click.option("--scale-kind", type=click.Choice(["linear", "piecewise"]), default="linear", show_default=True)
@click.option("--scale-low", default=200.0, show_default=True, help="Lowest reported scaled score.")
@click.option("--scale-high", default=800.0, show_default=True, help="Highest reported scaled score.")
@click.option("--scale-cut", default=500.0, show_default=True, help="The scaled score that passes.")
@click.option("--scale-slope", default=100.0, show_default=True, help="Scaled points per logit (linear scale).")
@click.option("--export", "export_path", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Also write the standard to this JSON file (for `score --standard FILE`).")
@click.option("--replace", is_flag=True, help="Replace a standard of the same name (its old cut is printed).")
@pass_context
def standard_set(obj: Context, name, theta_cut, angoff_dir, scale_kind, scale_low, scale_high, scale_cut,
                 scale_slope, export_path, replace):
    """Store standard NAME (a θ cut and its reporting scale) in the bank."""
    from workflows.standards import new_standard

    new = new_standard(name, theta_cut=theta_cut, angoff_dir=angoff_dir, export_path=export_path,
                       scale=dict(kind=scale_kind, low=scale_low, high=scale_high, cut=scale_cut, slope=scale_slope))
    with obj.open_bank() as bank:
        new = new.write(bank, replace=replace)
    click.echo(new.message())


@standard.command("apply")
@click.argument("name")
@click.option("--form", "form_id", default=None, help="The form (bank) to apply the standard to.")
@click.option("--params", "params_file", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Instead of --form: item parameters file (item_id, a, b, c).")
@click.option("--rule", type=click.Choice(["at_least", "nearest"]), default="at_least", show_default=True,
              help="at_least: the smallest raw score whose true score reaches the cut.")
@click.option("--out", "out_path", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Write the raw → θ → scaled conversion table (.csv).")
@click.option("--scores", "scores_file", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Candidates' raw scores on the form (column score): adds decision consistency/accuracy.")
@click.option("--reliability", type=click.FloatRange(0, 1, min_open=True, max_open=True), default=None,
              help="The form's reliability (e.g. alpha) for Livingston–Lewis (default KR-21 of the scores).")
@click.option("--decision-out", "decision_path", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="With --scores: write the decision-quality table (.csv).")
@click.option("--equate-from", "equate_from", default=None, metavar="OLD_FORM",
              help="With --form: also equate the form to this earlier bank form through their anchor block "
                   "(NEAT: Tucker, Levine, chained, frequency estimation) beside the IRT cut.")
@click.option("--responses", "responses", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="With --equate-from: the responses to --form (scored with its bank key).")
@click.option("--old-responses", "old_responses", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="With --equate-from: the responses to OLD_FORM.")
@click.option("--equating-out", "equating_path", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="With --equate-from: write each method's raw cut beside the IRT one (.csv).")
@pass_context
def standard_apply(obj: Context, name, form_id, params_file, rule, out_path, scores_file, reliability,
                   decision_path, equate_from, responses, old_responses, equating_path):
    """The form's raw cut for standard NAME (bank name or .json file) and its conversion table, from the
    form's parameters on the bank scale (the parameter sets used are named)."""
    from workflows.standards import apply_standard

    with obj.bank_on_demand() as bank:
        applied = apply_standard(bank, name, form_id=form_id, params_file=params_file, rule=rule,
                                 scores_file=scores_file, reliability=reliability,
                                 decision_table=decision_path is not None, equate_from=equate_from,
                                 responses=responses, old_responses=old_responses,
                                 equating_table=equating_path is not None)
    applied.write(out_path, decision_path, equating_path)
    click.echo(applied.message(out_path, equating_path))


@main.command("equate")
@click.option("--method", required=True, help="mean, linear, equipercentile (random groups); tucker, "
              "levine_observed, levine_true, chained_linear, braun_holland, frequency_estimation, "
              "chained_equipercentile (NEAT); irt_true_score, irt_observed_score.")
@click.option("--x", "x_path", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="New form scores: column score (or score,count); NEAT: total, anchor.")
@click.option("--y", "y_path", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Old form scores, same layout.")
@click.option("--max-x", type=click.IntRange(1), default=None, help="Maximum score of form X.")
@click.option("--max-y", type=click.IntRange(1), default=None, help="Maximum score of form Y.")
@click.option("--max-anchor", type=click.IntRange(1), default=None, help="Maximum anchor score (NEAT).")
@click.option("--external-anchor", is_flag=True, help="The anchor items are not part of the total score.")
@click.option("--w1", default=0.5, show_default=True, type=click.FloatRange(0, 1),
              help="Synthetic-population weight of population 1 (form X takers).")
@click.option("--form-x", default=None, help="IRT methods: the new form (bank).")
@click.option("--form-y", default=None, help="IRT methods: the old form (bank).")
@click.option("--params-x", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="IRT methods: form X's item parameters file (item_id, a, b, c) instead of --form-x.")
@click.option("--params-y", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="IRT methods: form Y's item parameters file (item_id, a, b, c) instead of --form-y.")
@click.option("--smoothing", default="none", show_default=True,
              help="Presmoothing of the score distributions: none, loglinear (degree by AIC) or loglinear:C.")
@click.option("--bootstrap", type=click.IntRange(0), default=0, show_default=True,
              help="Bootstrap replicates for the se column where the method has no analytic SE.")
@click.option("--seed", type=int, default=1, show_default=True, help="Seed of the bootstrap.")
@click.option("--out", "out_path", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="Concordance .csv: score, equated, se.")
@pass_context
def equate_command(obj: Context, method, x_path, y_path, max_x, max_y, max_anchor, external_anchor, w1, form_x,
                   form_y, params_x, params_y, smoothing, bootstrap, seed, out_path):
    """Equate form X to form Y's scale and write the concordance (K&B 2014 conventions; see README)."""
    from workflows.equating import equate

    with obj.bank_on_demand() as bank:
        job = equate(bank, method, x_path=x_path, y_path=y_path, max_x=max_x, max_y=max_y, max_anchor=max_anchor,
                     internal_anchor=not external_anchor, w1=w1, form_x=form_x, form_y=form_y,
                     params_x=params_x, params_y=params_y, smoothing=smoothing, bootstrap=bootstrap, seed=seed)
    job.write(out_path)
    click.echo(job.message(out_path))

@standard.command("report")
@click.argument("name")
@click.option("--form", "forms", multiple=True, required=True,
              help="A form (bank) to carry the standard to; repeat for several. The first is the reference.")
@click.option("--scores", "scores_file", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Raw scores on the first form (column score, optional language): impact and decision quality.")
@click.option("--group", "group_column", default="language", show_default=True, help="Group column for impact.")
@click.option("--angoff", "angoff_dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="The `cutscore angoff --out` folder, to include the raters table.")
@click.option("--out", "out", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="The workbook to write (.xlsx).")
@click.option("--force", is_flag=True, help="Replace an existing workbook.")
@pass_context
def standard_report(obj: Context, name, forms, scores_file, group_column, angoff_dir, out, force):
    """Write the standard-setting workbook for standard NAME (bank or .json) carried to each --form."""
    from workflows.bundles import check_workbook_path, write_stored_standard_workbook
    from workflows.standards import standard_across_forms

    check_workbook_path(out, force)
    with obj.bank_on_demand() as bank:
        study = standard_across_forms(bank, name, forms, scores_file=scores_file, group_column=group_column,
                                      angoff_dir=angoff_dir)
    write_stored_standard_workbook(name, study, out, force)
    click.echo(study.message(out))


# ---- end section: standard setting and equating ---------------------------------------------------------------

# ---- section: DIF (dif) ------------------------------------------------------------------------------------------


@main.command("dif")
@click.argument("responses", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--form", "form_id", default=None, help="Score against this form's key in the bank.")
@click.option("--key", "key_path", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Score against this key file (item_id,key). Without --form/--key the file must be 0/1.")
@click.option("--group", "group_col", default=None,
              help="Group column (default: language, English vs Spanish, when both are present).")
@click.option("--focal", default=None, help="The focal group's value in --group (default for language: es).")
@click.option("--reference", default=None, help="The reference group's value (default: everyone else).")
@click.option("--purify", is_flag=True, help="Iteratively drop MH-DIF items from the matching score.")
@click.option("--adjust", type=click.Choice(["bh", "holm"], case_sensitive=False), default=None,
              help="Adjust p-values for multiple comparisons (Benjamini–Hochberg or Holm).")
@click.option("--alpha", type=click.FloatRange(0, 1, min_open=True, max_open=True), default=0.05,
              show_default=True, help="Significance level of every test.")
@click.option("--out", "out_path", type=click.Path(dir_okay=False, path_type=Path), required=True,
              help="Where to write the per-item DIF table (.csv).")
@pass_context
def dif_command(obj: Context, responses: Path, form_id, key_path, group_col, focal, reference, purify, adjust,
                alpha, out_path: Path):
    """Differential item functioning (Mantel–Haenszel with the ETS A/B/C rule, logistic regression, STD P-DIF)
    between two groups of takers, by default Spanish (focal) against English (reference) takers.

    A negative delta_mh means the item is harder for the focal group than for reference takers of the same
    total score. For bank items the English and Spanish stems are added side by side.
    """
    from workflows.dif import dif_study

    with obj.bank_on_demand() as bank:  # without --form, the bank (if there is one) only adds the item texts
        study = dif_study(bank if form_id or obj.bank_path.is_file() else None, responses, out_path,
                          form_id=form_id, key_path=key_path, group=group_col, focal=focal, reference=reference,
                          purify=purify, adjust=adjust, alpha=alpha)
    study.write(out_path)
    for warning in study.warnings:
        click.echo(f"Warning: {warning}", err=True)
    click.echo(study.message(out_path))


# ---- end section: DIF ------------------------------------------------------------------------------------------------

# ---- section: practice data (simulate) -----------------------------------------------------------------------


@main.command()
@click.option("--form", "form_id", required=True, help="The bank form to simulate an administration of.")
@click.option("--out", "out", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="The response file to write (.csv: candidate_id, form_id, language, one column per item).")
@click.option("--candidates", "n_candidates", type=int, default=3000, show_default=True, help="How many candidates.")
@click.option("--mean", type=float, default=0.0, show_default=True,
              help="Mean θ of the simulated candidates on the bank scale (SD 1).")
@click.option("--seed", type=int, default=1, show_default=True, help="Random seed.")
@click.option("--ratings", "ratings_out", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Also write a 12-rater modified-Angoff panel's ratings of the scored items (for `cutscore angoff`).")
@pass_context
def simulate(obj: Context, form_id, out: Path, n_candidates, mean, seed, ratings_out):
    """Simulate a practice administration of a bank form (responses, optionally Angoff ratings) to try the
    whole cycle on; the bank is not changed."""
    from workflows.simulation import simulate_form

    with obj.open_bank() as bank:
        run = simulate_form(bank, form_id, n_candidates=n_candidates, mean=mean, seed=seed,
                            ratings=ratings_out is not None)
    click.echo(run.message(run.write(out, ratings_out)))

# ---- end section: practice data ------------------------------------------------------------------------------

# ---- section: exam security (security) ------------------------------------------------------------------------


@main.command("security")
@click.argument("responses", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--form", "form_id", default=None, help="The bank form: its key and its bank-scale parameters.")
@click.option("--key", "key_path", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="A key file (item_id,key) instead of a bank form; needs --params.")
@click.option("--params", "params_path", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Item parameters (item_id, a, b, c) on the bank scale, with --key.")
@click.option("--out", "outdir", type=click.Path(file_okay=False, path_type=Path), required=True,
              help="Folder for person_fit.csv, pairs.csv, clusters.csv, retakes.csv, timing.csv (when the file "
                   "has <item_id>_seconds columns) and summary.json.")
@click.option("--report", "report_path", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Also write the security workbook (.xlsx).")
@click.option("--force", is_flag=True, help="Replace an existing workbook.")
@click.option("--site", default=None, help="Compare pairs only within each value of this column (site, session).")
@click.option("--exposed", "exposed_path", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Suspected or exposed items (a file with an item_id column): preknowledge screen.")
@click.option("--previous", "previous", type=click.Path(dir_okay=False, path_type=Path), multiple=True,
              help="An earlier administration's responses (repeatable), to find retakers by candidate_id.")
@click.option("--previous-form", "previous_forms", multiple=True,
              help="The bank form of each --previous file, in the same order (default: this run's form).")
@click.option("--alpha", type=click.FloatRange(0, 1, min_open=True, max_open=True), default=0.001,
              show_default=True, help="Significance level of every screen (pairs: after adjustment).")
@click.option("--adjust", type=click.Choice(["bonferroni", "bh"], case_sensitive=False), default="bonferroni",
              show_default=True, help="Multiple-comparison control over the pairs.")
@pass_context
def security_command(obj: Context, responses: Path, form_id, key_path, params_path, outdir, report_path, force,
                     site, exposed_path, previous, previous_forms, alpha, adjust):
    """Exam-security screens of one administration: person fit (lz*, U3), identical incorrect answers between
    every pair of candidates with clusters of linked candidates, preknowledge on an exposed item set, item
    drift against the bank's history, and retakers' gains. A flag is a reason to review, not proof.
    """
    from workflows.security import run_security

    if len(previous_forms) > len(previous):
        raise click.UsageError("Each --previous-form needs a --previous file.")
    pairs = [(p, previous_forms[i] if i < len(previous_forms) else form_id) for i, p in enumerate(previous)]
    with obj.bank_on_demand() as bank:
        click.echo(run_security(bank if form_id or obj.bank_path.is_file() else None, responses, outdir,
                                report=report_path, force=force, form_id=form_id, key_file=key_path,
                                params_file=params_path, site=site, exposed_file=exposed_path, previous=pairs,
                                alpha=alpha, adjust=adjust.lower()))


# ---- end section: exam security -------------------------------------------------------------------------------

# ---- section: board packet (report pdf) ---------------------------------------------------------------------------


@main.group()
def report():
    """Board packets: print a finished workbook for the board."""


@report.command("pdf")
@click.argument("workbook", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="The PDF to write (default: the workbook's name with .pdf).")
@click.option("--force", is_flag=True, help="Replace an existing PDF.")
def report_pdf(workbook: Path, out: Path | None, force: bool):
    """Print WORKBOOK (.xlsx) to PDF through LibreOffice, as the board will read it on paper."""
    from workflows.bundles import workbook_pdf

    click.echo(f"Wrote {workbook_pdf(workbook, out, force=force)}")

# ---- end section: board packet ----------------------------------------------------------------------------------

# ---- section: reports and demo -----------------------------------------------------------------------------------


@main.command()
@click.argument("outdir", required=False, type=click.Path(file_okay=False, path_type=Path), default="demo-out")
@click.option("--force", is_flag=True, help="Replace the outputs of an earlier demo in OUTDIR.")
@click.option("--seed", type=int, default=None, help="Random seed of the simulation (default: fixed).")
def demo(outdir: Path, force: bool, seed: int | None):
    """Run the whole job on the bundled sample program and write every output into OUTDIR.

    Builds a bank from the sample, assembles two parallel forms, simulates an administration with planted
    problems, runs classical, IRT and DIF analyses and an Angoff study, and writes the board workbooks.
    """
    from workflows.demo import DEMO_SEED, run_demo

    result = run_demo(outdir, progress=lambda msg: click.echo(msg, err=True), force=force,
                      seed=DEMO_SEED if seed is None else seed)
    click.echo(result.summary())

# ---- end section: reports and demo ---------------------------------------------------------------------------------


def _bank_after_subcommand(ctx, _param, value):
    if value is not None and isinstance(ctx.find_object(Context), Context):
        ctx.find_object(Context).bank_path = value


def _accept_bank_everywhere(group: click.Group) -> None:
    """``--bank PATH`` also after the subcommand (``certbank forms list --bank x.db``): every command and
    group gets a copy of the option that replaces the bank chosen before it."""
    for command in group.commands.values():
        if not any("--bank" in p.opts for p in command.params):
            command.params.append(click.Option(
                ["--bank", "bank_after"], type=click.Path(dir_okay=False, path_type=Path), default=None,
                expose_value=False, callback=_bank_after_subcommand,
                help="The item bank file (also accepted before the command; env CERTBANK_BANK)."))
        if isinstance(command, click.Group):
            _accept_bank_everywhere(command)


_accept_bank_everywhere(main)

if __name__ == "__main__":
    main()
