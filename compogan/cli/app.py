"""The ``typer`` application every command module adds its command to, and the entry point.

Every user mistake ends in one line on stderr and exit status 1 (2 for usage errors), and no
partially written output file.
"""

from __future__ import annotations

import sys

import typer

from compogan.errors import CompoganError

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    help="compogan: compositional image synthesis with GANs (train, translate, convert, demo).",
)


def main() -> None:
    """Entry point of the ``compogan`` console script and ``python -m compogan``."""
    try:
        app()
    except CompoganError as error:
        typer.echo(f"error: {error}", err=True)
        sys.exit(1)
    except KeyboardInterrupt:
        typer.echo("interrupted", err=True)
        sys.exit(130)
