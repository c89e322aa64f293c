"""Short HMAC-signed media tokens naming (artifact version, entry), and the app's signing secret.

A browser never sees a bucket URI or a local path: media cells carry a token
that names an entry of a logged version and an expiry time, signed with a
secret only the app knows. :class:`shanty.media.server.MediaServer`
verifies the token and resolves the entry through the version's manifest (so
only referenced objects can be reached).

A token is ``<payload>.<signature>``, both unpadded base64url. Exactly one
string is valid per claim: both parts must be the canonical encoding of
their bytes (base64 can spell the same bytes several ways, through the
unused low bits of its last character), and the signature is compared as
that canonical string.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import secrets
import time
from dataclasses import dataclass
from pathlib import Path

from ..errors import InvalidTokenError
from ..settings import settings

__all__ = [
    "InvalidTokenError",
    "MediaClaim",
    "default_secret_file",
    "load_or_create_secret",
    "sign_media",
    "verify_media",
]

_SIG_BYTES = 16  # 128-bit truncated HMAC-SHA256: plenty against forgery, keeps URLs short


@dataclass(frozen=True)
class MediaClaim:
    """What a token grants: one entry of one version, until ``expires`` (Unix seconds)."""

    project: str
    artifact: str
    version: int
    path: str
    expires: int


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    """The bytes ``text`` encodes; ValueError unless it is their one canonical unpadded base64url spelling."""
    data = base64.urlsafe_b64decode(text.encode("ascii") + b"=" * (-len(text) % 4))
    if _b64(data) != text:  # stray characters, padding, or non-zero unused bits in the last character
        raise ValueError("not canonical base64url")
    return data


def _mac(secret: bytes, payload: str) -> bytes:
    return hmac.new(secret, payload.encode("ascii"), hashlib.sha256).digest()[:_SIG_BYTES]


def sign_media(claim: MediaClaim, secret: bytes) -> str:
    """The URL-safe token for ``claim`` (the same claim and secret always give the same token)."""
    body = json.dumps([claim.project, claim.artifact, claim.version, claim.path, claim.expires], separators=(",", ":"))
    payload = _b64(body.encode())
    return f"{payload}.{_b64(_mac(secret, payload))}"


def verify_media(token: str, secret: bytes, now: float | None = None) -> MediaClaim:
    """The claim inside a genuine, unexpired token; InvalidTokenError otherwise.

    Genuine means: issued by :func:`sign_media` with ``secret``, character for
    character (any other spelling of the same bytes is refused). Expired
    means ``expires`` is before ``now`` (default: the current time).
    """
    try:
        payload, signature = token.split(".")
        body = _unb64(payload)
    except (ValueError, UnicodeError):
        raise InvalidTokenError("This media link is malformed; reload the page to get a fresh one.") from None
    # Compared as strings with the canonical spelling (in constant time), never as decoded bytes:
    # another spelling of the right bytes is not the token this app issued.
    expected = _b64(_mac(secret, payload)).encode("ascii")
    if not hmac.compare_digest(signature.encode("utf-8", "replace"), expected):
        raise InvalidTokenError("This media link was not issued by this app; reload the page to get a fresh one.")
    try:
        project, artifact, version, path, expires = json.loads(body)
        claim = MediaClaim(str(project), str(artifact), int(version), str(path), int(expires))
    except (ValueError, TypeError) as exc:
        raise InvalidTokenError("This media link is malformed; reload the page to get a fresh one.") from exc
    if claim.expires < (time.time() if now is None else now):
        raise InvalidTokenError("This media link has expired; reload the page to get a fresh one.")
    return claim


def default_secret_file() -> Path:
    """Where the app keeps its signing secret: ``$SHANTY_SECRET_FILE``, else
    ``$XDG_CONFIG_HOME/shanty/app-secret`` (``~/.config/shanty/app-secret``).

    Deliberately outside any registry (``~/.shanty`` is the default registry
    root and may be synced or shared): the secret belongs to this app install.
    Several app processes behind one URL must share the file (or the variable).
    """
    return settings().secret_file


def load_or_create_secret(path: str | os.PathLike[str]) -> bytes:
    """The app's signing secret, created (32 random bytes, mode 0600) on first use."""
    path = Path(path)
    try:
        return bytes.fromhex(path.read_text().strip())
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another process created it first: use theirs
        return bytes.fromhex(path.read_text().strip())
    with os.fdopen(fd, "w") as handle:
        handle.write(secrets.token_hex(32))
    return bytes.fromhex(path.read_text().strip())
