"""Who may read and write which project: the registry's access policy.

The policy is a value (:class:`AccessPolicy`) kept in the registry as
snapshots ``access/<seq:010d>.json``, each the whole policy, written with
``create_if_absent`` like an artifact's log: the last snapshot is the policy,
concurrent writers never overwrite each other (a writer that loses the race
reads the winner's snapshot, applies its change again and takes the next
number), and the folder doubles as the policy's history.

Rules (one place, :meth:`AccessPolicy.can`):

* no snapshot at all: everything is open to everyone, signed in or not
  (the registry works as it always has);
* with a policy, a project's grant is its own entry, else the ``*`` entry,
  else nothing: a project nobody was granted is hidden from everyone;
* a grant lists users by e-mail (compared case-insensitively) or OIDC
  subject, or ``*`` for every signed-in user; a signed-out user (None)
  reads nothing once a policy exists;
* ``write`` implies ``read``.

The dashboard enforces it (pickers, media links); the library's own reads
do not: whoever holds the bucket's credentials reads the bucket.
"""

from __future__ import annotations

import json
import random
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Literal

from .errors import ConflictError, InvalidInputError, MalformedError
from .registry import Registry

__all__ = [
    "ACCESS_DIR",
    "EVERYONE",
    "AccessPolicy",
    "Mode",
    "ProjectGrant",
    "load_policy",
    "update_policy",
]

ACCESS_DIR = "access"  # below the registry root: <seq:010d>.json snapshots, the last one holds
EVERYONE = "*"  # as a user: every signed-in user; as a project: every project without its own grant
Mode = Literal["read", "write"]
_MODES = ("read", "write")
_ATTEMPTS = 50


def _norm(user: str) -> str:
    # E-mail addresses are compared without case; subjects are opaque but never differ only in case in practice.
    return user.strip().lower()


@dataclass(frozen=True)
class ProjectGrant:
    """The users who may read and write one project (``write`` implies ``read``)."""

    read: frozenset[str] = frozenset()
    write: frozenset[str] = frozenset()

    def allows(self, users: Iterable[str], mode: Mode) -> bool:
        """Whether any of ``users`` (an identity's spellings: e-mail, subject) holds ``mode``."""
        holders = self.write if mode == "write" else self.read | self.write
        return EVERYONE in holders or any(_norm(u) in holders for u in users)


@dataclass(frozen=True)
class AccessPolicy:
    """Per-project grants; ``grants`` maps a project (or ``*``) to its :class:`ProjectGrant`."""

    grants: Mapping[str, ProjectGrant] = field(default_factory=dict)

    def grant_for(self, project: str) -> ProjectGrant:
        """``project``'s own grant, else the ``*`` grant, else an empty one."""
        return self.grants.get(project) or self.grants.get(EVERYONE) or ProjectGrant()

    def can(self, user: str | Iterable[str] | None, project: str, mode: Mode = "read") -> bool:
        """Whether ``user`` (an e-mail or subject, or several spellings of one identity; None: signed
        out) may ``mode`` ``project`` (see the module docstring for the rules)."""
        if user is None:
            return False
        users = [user] if isinstance(user, str) else [u for u in user if u]
        return bool(users) and self.grant_for(project).allows(users, mode)

    def readable(self, user: str | Iterable[str] | None, projects: Iterable[str]) -> list[str]:
        """The ``projects`` ``user`` may read, in their order."""
        return [p for p in projects if self.can(user, p)]

    def changed(self, project: str, user: str, mode: Mode, *, allow: bool) -> AccessPolicy:
        """A copy with ``user`` given (``allow``) or refused ``mode`` on ``project``. Granting write also
        grants read; revoking read also revokes write. Raises InvalidInputError for an empty user or project."""
        if not user.strip() or not project.strip():
            raise InvalidInputError("Name a user (an e-mail, a subject or *) and a project (or *) to grant or revoke.")
        if mode not in _MODES:
            raise InvalidInputError(f"An access mode is 'read' or 'write', not {mode!r}.")
        old = self.grants.get(project, ProjectGrant())
        who = frozenset({_norm(user)})
        if allow:
            new = ProjectGrant(old.read | who, old.write | who if mode == "write" else old.write)
        else:
            new = ProjectGrant(old.read - who if mode == "read" else old.read, old.write - who)
        return AccessPolicy({**self.grants, project: new})

    def to_json(self) -> dict:
        """The stored form: ``{"format": 1, "projects": {project: {"read": [...], "write": [...]}}}``."""
        return {
            "format": 1,
            "projects": {p: {"read": sorted(g.read), "write": sorted(g.write)} for p, g in sorted(self.grants.items())},
        }

    @classmethod
    def from_json(cls, data: object, where: str = "the access policy") -> AccessPolicy:
        """The policy :meth:`to_json` wrote; MalformedError (naming ``where``) for anything else."""
        try:
            if not isinstance(data, dict) or data.get("format") != 1:
                raise TypeError
            grants = {}
            for project, grant in data["projects"].items():
                lists = [grant.get(mode, []) for mode in _MODES]
                if not all(isinstance(v, list) and all(isinstance(u, str) for u in v) for v in lists):
                    raise TypeError
                grants[str(project)] = ProjectGrant(*(frozenset(_norm(u) for u in v) for v in lists))
        except (TypeError, KeyError, AttributeError):
            raise MalformedError(f"{where} is not a shanty access policy; restore it or write a new one.") from None
        return cls(grants)


def _snapshots(registry: Registry) -> list[str]:
    names = registry.storage.list_names(registry.uri(ACCESS_DIR))
    return sorted(n for n in names if len(n) == 15 and n.endswith(".json") and n[:10].isdigit())


def _read(registry: Registry, name: str) -> AccessPolicy:
    uri = registry.uri(ACCESS_DIR, name)
    try:
        data = json.loads(registry.storage.read_bytes(uri))
    except (json.JSONDecodeError, UnicodeDecodeError):
        data = None
    return AccessPolicy.from_json(data, uri)


def load_policy(registry: Registry | str) -> AccessPolicy | None:
    """The registry's current policy, or None when it has none (everything open). One listing and one
    read; raises StorageError when the registry cannot be reached, MalformedError for a damaged snapshot."""
    registry = registry if isinstance(registry, Registry) else Registry(registry)
    names = _snapshots(registry)
    return _read(registry, names[-1]) if names else None


def update_policy(registry: Registry | str, change: Callable[[AccessPolicy], AccessPolicy]) -> AccessPolicy:
    """Apply ``change`` to the current policy (an empty one when there is none) and store the result as
    the next snapshot, race-free (see the module docstring); returns the stored policy. Raises
    ConflictError when other writers kept winning, and what :func:`load_policy` raises."""
    registry = registry if isinstance(registry, Registry) else Registry(registry)
    for attempt in range(_ATTEMPTS):
        names = _snapshots(registry)
        current = _read(registry, names[-1]) if names else AccessPolicy()
        new = change(current)
        seq = int(names[-1][:10]) + 1 if names else 0
        data = json.dumps(new.to_json(), sort_keys=True, indent=1).encode()
        if registry.storage.create_if_absent(registry.uri(ACCESS_DIR, f"{seq:010d}.json"), data):
            return new
        time.sleep(random.uniform(0, 0.01 * min(attempt + 1, 10)))  # back off a little under contention
    raise ConflictError("Could not write the access policy: other writers kept winning; try again.")
