"""``python -m compogan ...`` (and ``torchrun -m compogan train ...``) runs the command line."""

from compogan.cli import main

main()
