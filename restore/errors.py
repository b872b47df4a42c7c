"""Every error restore raises on purpose, in one place.

Each carries a message that is one line for stderr: the command line prints it as
``restore: error: MESSAGE`` and exits non-zero, never with a traceback.
"""

from __future__ import annotations


class RestoreError(Exception):
    """Base of restore's own errors: the message is one line a user can act on."""


class InputError(RestoreError):
    """A user file cannot be used (missing, binary, wrong encoding, too large)."""


class OutputError(RestoreError, OSError):
    """A user-visible file cannot be written, or writing it would lose data."""


class CorpusError(RestoreError, ValueError):
    """A corpus file cannot be read: one line that names it and says why."""


class TruncatedInput(InputError, EOFError):
    """Compressed input that ends before its end marker: the file was cut short."""


class ModelError(RestoreError):
    """A model, index or model directory is missing or cannot be read."""


class CollectionError(RestoreError):
    """A collection cannot be read on or written (missing, unknown format, damaged)."""


class LexiconError(RestoreError):
    """A filter list or phrase dictionary is missing or cannot be read."""
