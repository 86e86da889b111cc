"""The `certbank` command line: parse options, call one library function, print or write its result.

Every user error is a ``CertbankError``: it is printed as plain sentences on stderr and the exit code is 2.
Any other exception is a bug and keeps its traceback.
"""
from __future__ import annotations

import functools
import getpass
import os
import sys
from pathlib import Path

import click

from itembank.errors import CertbankError


class Context:
    """What every command gets: where the bank is and who is acting (for the audit log)."""

    def __init__(self, bank_path: Path, user: str):
        self.bank_path = bank_path
        self.user = user

    def open_bank(self, must_exist: bool = True):
        from itembank.store import Bank

        return Bank.open(self.bank_path, user=self.user, must_exist=must_exist)


def fail(message: str, code: int = 2) -> None:
    click.echo(message, err=True)
    sys.exit(code)


class CertbankGroup(click.Group):
    """A click group that turns CertbankError into its message and exit code 2, with no traceback."""

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except CertbankError as err:
            click.echo(f"Error: {err}", err=True)
            ctx.exit(2)


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

# ---- end section: item bank ------------------------------------------------------------------------------

# ---- section: responses and classical item analysis (analyze) ---------------------------------------------

# ---- end section: responses and classical item analysis ---------------------------------------------------

# ---- section: IRT (calibrate, score, link) -----------------------------------------------------------------

# ---- end section: IRT ----------------------------------------------------------------------------------------

# ---- section: blueprints and assembly (blueprint, assemble, forms) -----------------------------------------

# ---- end section: blueprints and assembly --------------------------------------------------------------------

# ---- section: standard setting and equating (cutscore, standard, equate) --------------------------------------

# ---- end section: standard setting and equating ---------------------------------------------------------------

# ---- section: DIF (dif) ------------------------------------------------------------------------------------------

# ---- end section: DIF ------------------------------------------------------------------------------------------------

# ---- section: reports and demo -----------------------------------------------------------------------------------


@main.command()
@click.argument("outdir", required=False, type=click.Path(file_okay=False, path_type=Path), default="demo-out")
@pass_context
def demo(obj: Context, outdir: Path):
    """Run the whole job on the bundled sample program and write every output into OUTDIR."""
    from reports.demo import run_demo

    summary = run_demo(outdir, progress=lambda msg: click.echo(msg, err=True))
    click.echo(summary)

# ---- end section: reports and demo ---------------------------------------------------------------------------------


if __name__ == "__main__":
    main()
