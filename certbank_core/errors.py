"""The one exception hierarchy of certbank.

Every error a user can cause (bad file, unknown id, illegal transition, infeasible blueprint) is a
``CertbankError``; the CLI turns it into plain sentences and exit code 2. Anything else is a bug and keeps
its traceback.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable


@dataclass(frozen=True)
class Problem:
    """One problem found in user input, located as precisely as we can.

    ``row`` is the 1-based row as a spreadsheet user sees it (the header is row 1).
    """

    message: str
    file: str | None = None
    row: int | None = None
    column: str | None = None

    def __str__(self) -> str:
        where = []
        if self.file:
            where.append(str(self.file))
        if self.row is not None:
            where.append(f"row {self.row}")
        if self.column:
            where.append(f"column '{self.column}'")
        prefix = ", ".join(where)
        return f"{prefix}: {self.message}" if prefix else self.message


class CertbankError(Exception):
    """Base of every error a user can cause. ``str(err)`` is the message the user sees."""


class InputError(CertbankError):
    """Input (a file, an option, a value) is invalid. Carries every problem found, not only the first."""

    def __init__(self, problems: Iterable[Problem] | Problem | str):
        if isinstance(problems, (str, Problem)):
            problems = [problems]
        self.problems: list[Problem] = [p if isinstance(p, Problem) else Problem(str(p)) for p in problems]
        super().__init__("\n".join(str(p) for p in self.problems))


class NotFoundError(CertbankError):
    """An id (item, form, framework, competency, standard) does not exist."""


class BankError(CertbankError):
    """The bank file is missing, not a certbank bank, locked, or of a newer schema."""


class TransitionError(CertbankError):
    """An illegal status change (item or form lifecycle) or a change to a frozen object."""


class AssemblyError(CertbankError):
    """A blueprint cannot be met; the message says which rules bend and by how much."""


class EstimationError(CertbankError):
    """Data cannot support the requested model (too few persons, no variance, ...)."""
