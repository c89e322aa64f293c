"""Errors a user can act on.

Every exception raised on purpose by shanty derives from :class:`ShantyError`
and carries one plain sentence: what is wrong and what to do. The CLI prints
that sentence and exits non-zero; it never shows a traceback for these.
"""

from __future__ import annotations

__all__ = [
    "ChangedObjectError",
    "ConflictError",
    "InvalidInputError",
    "MalformedError",
    "NotFoundError",
    "ShantyError",
    "StorageError",
]


class ShantyError(Exception):
    """Base class: the message is meant for the user as-is."""


class NotFoundError(ShantyError):
    """A project, artifact, version, alias, file or bucket does not exist."""


class InvalidInputError(ShantyError):
    """The caller passed something shanty cannot accept (bad name, bad URI...)."""


class ConflictError(ShantyError):
    """Concurrent writers kept colliding, or the request contradicts stored state."""


class StorageError(ShantyError):
    """The storage backend failed (denied, unreachable, down)."""


class MalformedError(ShantyError):
    """A stored or imported file (manifest, record, table) cannot be parsed."""


class ChangedObjectError(ShantyError):
    """Referenced objects changed since they were logged and no older version exists.

    ``paths`` lists the affected entry paths so callers can report or skip them.
    """

    def __init__(self, message: str, paths: list[str]):
        super().__init__(message)
        self.paths = paths
