"""Names of projects, artifacts and aliases, and artifact references.

Names become path segments in the registry, so they are restricted to a
safe alphabet; this is also what keeps registry keys free of traversal.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from .errors import InvalidInputError

__all__ = [
    "VERSION_ALIAS",
    "ArtifactRef",
    "alias_list",
    "check_alias",
    "check_name",
    "check_tag",
    "parse_artifact_ref",
]

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$")
VERSION_ALIAS = re.compile(r"^v(\d+)$")
# W&B's alias rules: any printable text up to 128 characters ("epoch 1" included) but '/' and ':', which
# would make a reference ambiguous; aliases live in log records, never in a file or object name.
_ALIAS = re.compile(r"^[^/:\x00-\x1f\x7f]{1,128}$")


def check_name(name: str, what: str) -> str:
    """Validate a project or artifact name (letters, digits, ``_ . -``)."""
    if not isinstance(name, str) or not _NAME.match(name) or name in {".", ".."}:
        raise InvalidInputError(
            f"{what} name {name!r} is not allowed; use letters, digits, '_', '.' or '-' (starting with a letter or digit)."
        )
    return name


def _check_alias_text(alias: str) -> str:
    if not isinstance(alias, str) or not _ALIAS.match(alias) or alias != alias.strip():
        raise InvalidInputError(
            f"Alias {alias!r} is not allowed; use up to 128 printable characters without '/' or ':' "
            "(and no space at either end)."
        )
    return alias


def check_alias(alias: str) -> str:
    """Validate an alias you may set: W&B's rules (``"epoch 1"`` is one), not ``latest``, not a version
    like ``v3``."""
    _check_alias_text(alias)
    if alias == "latest" or VERSION_ALIAS.match(alias):
        raise InvalidInputError(
            f"The alias {alias!r} is reserved: 'latest' and 'vN' are always derived from the versions."
        )
    return alias


_TAG = re.compile(r"^[-\w]+( +[-\w]+)*$")  # W&B's rule: words of letters, digits, _ and -, single spaces between


def check_tag(tag: str) -> str:
    """``tag`` if W&B would accept it as an artifact tag, else InvalidInputError saying what is allowed."""
    if not isinstance(tag, str) or len(tag) > 128 or not _TAG.match(tag):
        raise InvalidInputError(
            f"Invalid tag {tag!r}: tags are letters, digits, '_' and '-', words separated by single spaces."
        )
    return tag


def alias_list(aliases: Any) -> list[str]:
    """Aliases as given to ``log_artifact`` or set on a version: None is none, one name is that name (never
    its letters, as iterating a string would give), a list is itself. InvalidInputError for anything else."""
    if aliases is None:
        return []
    if isinstance(aliases, str):
        return [aliases]
    if isinstance(aliases, list | tuple | set | frozenset) and all(isinstance(a, str) for a in aliases):
        return list(aliases)
    raise InvalidInputError(f"Aliases must be a name or a list of names, not {aliases!r}.")


@dataclass(frozen=True)
class ArtifactRef:
    """``project/name:selector``; ``selector`` is ``latest``, ``vN`` or an alias."""

    project: str | None
    name: str
    selector: str = "latest"

    def __str__(self) -> str:
        prefix = f"{self.project}/" if self.project else ""
        return f"{prefix}{self.name}:{self.selector}"


def parse_artifact_ref(text: str, default_project: str | None = None) -> ArtifactRef:
    """Parse ``name``, ``name:alias``, ``project/name:v3`` or ``entity/project/name:alias``.

    The entity part of a W&B path is accepted and ignored, so ported code runs.
    """
    if not isinstance(text, str) or not text.strip():
        raise InvalidInputError("An empty artifact reference was given; write it as 'project/name:latest'.")
    path, _, selector = text.strip().partition(":")
    parts = path.split("/")
    if len(parts) > 3 or any(not p for p in parts):
        raise InvalidInputError(f"Cannot read the artifact reference {text!r}; write it as 'project/name:alias'.")
    name = check_name(parts[-1], "Artifact")
    project = check_name(parts[-2], "Project") if len(parts) >= 2 else default_project
    selector = selector or "latest"
    if selector != "latest" and not VERSION_ALIAS.match(selector):
        _check_alias_text(selector)
    return ArtifactRef(project, name, selector)
