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
    "InvalidTokenError",
    "MalformedError",
    "MediaDeniedError",
    "MediaGoneError",
    "NotFoundError",
    "QueryError",
    "RangeNotSatisfiableError",
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


class QueryError(InvalidInputError):
    """The query is wrong (unknown column, bad value, malformed spec); the message says how to fix it."""


class InvalidTokenError(ShantyError):
    """A media token is malformed, forged or expired."""


class MediaDeniedError(InvalidTokenError):
    """A genuine token naming nothing this server can serve (unknown project, version or entry).

    Like a forged or expired token it earns a 403: the browser holds a stale
    or foreign link. The message names no path.
    """


class MediaGoneError(NotFoundError):
    """The token is good but the recorded object is gone or changed in its store (404)."""


class RangeNotSatisfiableError(ShantyError):
    """A Range header asks for bytes past the end; ``size`` goes into ``Content-Range: bytes */size``."""

    def __init__(self, size: int):
        super().__init__(f"The requested byte range lies outside the {size}-byte file.")
        self.size = size
