"""The base of every error a user can cause (bad input, missing file, broken config).

The CLI reports these as one clear line and a non-zero exit; anything else is a bug and
keeps its traceback.
"""


class MaskwatchError(Exception):
    """An error in the user's input or environment, with a message that says what to fix."""


class ModelFileError(MaskwatchError, FileNotFoundError):
    """A model file the configuration names is missing or unusable."""
