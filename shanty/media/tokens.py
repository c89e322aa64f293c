"""Short HMAC-signed media tokens naming (artifact version, entry).

A browser never sees a bucket URI or a local path: media cells carry a token
that names an entry of a logged version and an expiry time, signed with a
secret only the app knows. The media route verifies the token, resolves
the entry through the version's manifest (so only referenced objects can be
reached), then streams a local file or redirects to a fresh presigned URL.
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

__all__ = ["InvalidTokenError", "MediaClaim", "load_or_create_secret", "sign_media", "verify_media"]

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
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _mac(secret: bytes, payload: str) -> bytes:
    return hmac.new(secret, payload.encode("ascii"), hashlib.sha256).digest()[:_SIG_BYTES]


def sign_media(claim: MediaClaim, secret: bytes) -> str:
    """A URL-safe token for ``claim``."""
    body = json.dumps([claim.project, claim.artifact, claim.version, claim.path, claim.expires], separators=(",", ":"))
    payload = _b64(body.encode())
    return f"{payload}.{_b64(_mac(secret, payload))}"


def verify_media(token: str, secret: bytes, now: float | None = None) -> MediaClaim:
    """The claim inside a genuine, unexpired token; InvalidTokenError otherwise."""
    try:
        payload, signature = token.split(".")
        good = hmac.compare_digest(_unb64(signature), _mac(secret, payload))
    except (ValueError, UnicodeError):
        raise InvalidTokenError("This media link is malformed; reload the page to get a fresh one.") from None
    if not good:
        raise InvalidTokenError("This media link was not issued by this app; reload the page to get a fresh one.")
    try:
        project, artifact, version, path, expires = json.loads(_unb64(payload))
        claim = MediaClaim(str(project), str(artifact), int(version), str(path), int(expires))
    except (ValueError, TypeError) as exc:
        raise InvalidTokenError("This media link is malformed; reload the page to get a fresh one.") from exc
    if claim.expires < (time.time() if now is None else now):
        raise InvalidTokenError("This media link has expired; reload the page to get a fresh one.")
    return claim


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
