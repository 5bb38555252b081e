"""Errors that compogan shows to users as one line.

Every failure a user can cause (a missing file, a corrupt image, a wrong config key, a checkpoint
of another model) raises a subclass of :class:`CompoganError`. The command line prints its message
and exits with status 1; Python users catch it like any other exception.
"""


class CompoganError(Exception):
    """Base class of all user-facing compogan errors; the message is one line."""


class InputError(CompoganError):
    """An input file or folder is missing, empty, corrupt, too large or of the wrong kind."""


class ConfigError(CompoganError):
    """A configuration file or override is wrong (unknown key, bad value, unknown model)."""


class CheckpointError(CompoganError):
    """A checkpoint is missing, unreadable, or belongs to another model or architecture."""


class WeightsNotFoundError(CompoganError):
    """Pretrained weights (e.g. VGG-19) could not be found locally or downloaded."""


class TrainingDivergedError(CompoganError):
    """A loss became NaN or infinite during training."""


class TrainingInterrupted(CompoganError):
    """Training was stopped by the user (Ctrl-C) after a checkpoint of the current step was
    saved; ``--resume`` continues from it. The command line exits with status 130."""
