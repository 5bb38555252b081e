"""The ``compogan`` command line: one module per command group, added to one ``typer`` app.

A new pipeline's command is its own module here (``@app.command`` on :data:`compogan.cli.app.app`,
inputs planned and written with :func:`plan_batch` / :func:`write_batch`) plus one line in
:data:`COMMAND_MODULES`. Command modules import torch and the models lazily, inside the command,
so ``compogan --help`` and input errors stay fast.
"""

import importlib

from compogan.cli.app import app, describe_commands, main
from compogan.cli.batch import Batch, plan_batch, write_batch

COMMAND_MODULES = (
    "compogan.cli.training",
    "compogan.cli.translate",
    "compogan.cli.compose",
    "compogan.cli.inpaint",
    "compogan.cli.cutpaste",
    "compogan.cli.retarget",
    "compogan.cli.repose",
    "compogan.cli.serve",
)
"""The modules whose commands ``compogan`` offers, in the order of ``compogan --help``."""

for _module in COMMAND_MODULES:
    importlib.import_module(_module)
describe_commands()

__all__ = ["COMMAND_MODULES", "Batch", "app", "main", "plan_batch", "write_batch"]
