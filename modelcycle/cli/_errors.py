"""The one place where a :class:`~modelcycle.errors.ModelcycleError` becomes a message and an
exit code.

The root command group catches it around every sub-command, so commands simply let errors rise:
the person sees ``Not found: run 'abc' does not exist; …`` on stderr and the shell sees the class's
``exit_code`` (``NotFound`` → 3). Usage mistakes that typer catches while parsing exit 2, as with
every click program. Anything else is a bug and keeps its traceback.
"""

from __future__ import annotations

from typing import Any, NoReturn

import typer
from rich.text import Text
from typer.core import TyperGroup

from modelcycle.cli._output import err_console
from modelcycle.errors import ModelcycleError

MISSING_DEPENDENCY_EXIT_CODE = 1


class ErrorReportingGroup(TyperGroup):
    """The root group: runs the chosen command and reports a ``ModelcycleError`` it raises."""

    def invoke(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)
        except ModelcycleError as error:
            report(error.headline, error.message)
            raise typer.Exit(error.exit_code) from error


def report(headline: str, message: str) -> None:
    """Write ``headline: message`` on stderr; the message is never read as rich markup."""
    err_console().print(Text.assemble((headline, "bold red"), ": ", message), soft_wrap=True)


def missing_dependency(error: ImportError, *, extra: str, purpose: str) -> NoReturn:
    """Stop a command whose optional dependency is not installed, saying how to install it."""
    report(
        "Missing dependency",
        f"{purpose} needs the package {error.name or 'that failed to import'!r}; install it with "
        f"pip install 'modelcycle[{extra}]'",
    )
    raise typer.Exit(MISSING_DEPENDENCY_EXIT_CODE) from error
