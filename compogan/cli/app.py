"""The ``typer`` application every command module adds its command to, and the entry point.

Every user mistake ends in one line on stderr and exit status 1 (2 for usage errors), and no
partially written output file. Failures of the machine rather than of compogan (a full disk, a
folder that is not writable, memory running out) are reported the same way; warnings are one
``warning: ...`` line each.
"""

from __future__ import annotations

import sys
import warnings
from typing import Annotated

import typer

from compogan.errors import CompoganError, TrainingInterrupted

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    help="compogan: compositional image synthesis with GANs.",
)

MEMORY_MESSAGES = ("out of memory", "can't allocate memory", "not enough memory")
"""Substrings of the RuntimeError messages in which torch reports that memory ran out."""


def _print_version(wanted: bool) -> None:
    if wanted:
        from compogan import __version__

        typer.echo(f"compogan {__version__}")
        raise typer.Exit()


@app.callback()
def _options(
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_print_version, is_eager=True, help="print the version and exit"
        ),
    ] = False,
) -> None:
    """compogan: compositional image synthesis with GANs."""


def describe_commands() -> None:
    """Make ``compogan --help``'s description name every registered command (called once the
    command modules are imported)."""
    names = [command.name for command in app.registered_commands if command.name]
    app.info.help = "compogan: compositional image synthesis with GANs. Commands: " + (
        ", ".join(names) + "."
    )


def _one_line_warning(
    message: Warning | str, category: type[Warning], *args: object, **kwargs: object
) -> str:
    """Warnings as ``warning: <message>`` on one line, without the source line."""
    return "warning: " + " ".join(str(message).split()) + "\n"


def _machine_failure(error: BaseException) -> str | None:
    """A one-line message for an OSError or a memory failure, or None for a real bug."""
    if isinstance(error, MemoryError):
        return "out of memory; try a smaller image or batch (or a device with more memory)"
    if isinstance(error, OSError):
        reason = error.strerror or str(error) or type(error).__name__
        return f"{reason}: {error.filename}" if error.filename else reason
    if isinstance(error, RuntimeError):
        text = str(error).lower()
        if any(message in text for message in MEMORY_MESSAGES):
            return "out of memory; try a smaller image or batch (or a device with more memory)"
    return None


def main() -> None:
    """Entry point of the ``compogan`` console script and ``python -m compogan``."""
    warnings.formatwarning = _one_line_warning
    try:
        app()
    except TrainingInterrupted as error:
        typer.echo(f"stopped: {error}", err=True)
        sys.exit(130)
    except CompoganError as error:
        typer.echo(f"error: {error}", err=True)
        sys.exit(1)
    except KeyboardInterrupt:
        typer.echo("interrupted", err=True)
        sys.exit(130)
    except (OSError, MemoryError, RuntimeError) as error:
        message = _machine_failure(error)
        if message is None:
            raise
        typer.echo(f"error: {message}", err=True)
        sys.exit(1)
