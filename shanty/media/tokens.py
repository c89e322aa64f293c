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

Where the secret comes from (:func:`signing_secret`): ``$SHANTY_SECRET``
when set; else, for a registry in a bucket, one secret kept in the registry
itself (:data:`REGISTRY_SECRET`, created once with ``create_if_absent``, so
every replica on that registry, started in any order or at the same moment,
signs and verifies with the same key); else, for a local registry, the file
``$SHANTY_SECRET_FILE`` of this machine.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import secrets
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from ..access import AccessPolicy
from ..errors import InvalidTokenError, MalformedError, MediaDeniedError, NotFoundError, StorageError
from ..registry import Registry
from ..settings import MIN_SECRET_BYTES, settings
from ..storage import local_path

__all__ = [
    "REGISTRY_SECRET",
    "InvalidTokenError",
    "MediaClaim",
    "check_viewer",
    "default_secret_file",
    "load_or_create_secret",
    "registry_secret",
    "sign_media",
    "signing_secret",
    "verify_media",
    "viewer_tag",
]

REGISTRY_SECRET = "secrets/media-signing-key"  # below the registry root; hex text, written once, never changed

_SIG_BYTES = 16  # 128-bit truncated HMAC-SHA256: plenty against forgery, keeps URLs short


@dataclass(frozen=True)
class MediaClaim:
    """What a token grants: one entry of one version, until ``expires`` (Unix seconds)."""

    project: str
    artifact: str
    version: int
    path: str
    expires: int
    user: str | None = None  # viewer_tag() of the user it was minted for; None: minted for anyone (no sign-in)
    version_id: str = ""  # the version's identity (its record's hash): a renumbered vN never serves another's bytes


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
    fields = [claim.project, claim.artifact, claim.version, claim.version_id, claim.path, claim.expires]
    if claim.user is not None:  # only then: tokens of an app without sign-in stay as they always were
        fields.append(claim.user)
    body = json.dumps(fields, separators=(",", ":"))
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
        project, artifact, version, version_id, path, expires, *user = json.loads(body)
        if len(user) > 1:
            raise ValueError("too many fields")
        claim = MediaClaim(
            str(project),
            str(artifact),
            int(version),
            str(path),
            int(expires),
            str(user[0]) if user else None,
            str(version_id),
        )
    except (ValueError, TypeError) as exc:
        raise InvalidTokenError("This media link is malformed; reload the page to get a fresh one.") from exc
    if claim.expires < (time.time() if now is None else now):
        raise InvalidTokenError("This media link has expired; reload the page to get a fresh one.")
    return claim


def default_secret_file() -> Path:
    """Where the app keeps a local registry's signing secret: ``$SHANTY_SECRET_FILE``, else
    ``$XDG_CONFIG_HOME/shanty/app-secret`` (``~/.config/shanty/app-secret``).

    Deliberately outside a local registry (``~/.shanty`` is the default registry
    root and may be synced or shared): the secret belongs to this app install.
    Replicas use ``$SHANTY_SECRET`` or a bucket registry instead (see :func:`signing_secret`).
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


def _parse_secret(text: str, where: str) -> bytes:
    try:
        key = bytes.fromhex(text.strip())
    except ValueError:
        key = b""
    if len(key) < MIN_SECRET_BYTES:
        raise MalformedError(f"The media signing secret at {where} is damaged; delete it and restart every app.")
    return key


def registry_secret(registry: Registry) -> bytes:
    """The signing secret kept in ``registry`` at :data:`REGISTRY_SECRET`, created on first use.

    Race-safe: 32 random bytes are offered with ``create_if_absent``; whoever
    loses the race reads the winner's, so any number of processes starting at
    once end up with one secret. Anyone who can read the registry can read it
    (and so sign media links for it): the secret guards the registry's media
    no more tightly than the registry's own access rules do. Raises
    StorageError when the registry cannot be reached and MalformedError for a
    damaged secret object.
    """
    uri = registry.uri(REGISTRY_SECRET)
    storage = registry.storage
    for attempt in range(5):
        try:
            return _parse_secret(storage.read_bytes(uri).decode("ascii", "replace"), uri)
        except NotFoundError:
            pass
        if storage.create_if_absent(uri, secrets.token_hex(32).encode("ascii")):
            # Read back rather than return ours: the store's copy is what every other replica sees.
            continue
        time.sleep(0.05 * (attempt + 1))  # taken a moment ago: a store may need that moment to show it
    raise StorageError(f"The media signing secret at {uri} could not be created or read; try again shortly.")


def signing_secret(registry: Registry) -> bytes:
    """The secret this app signs ``registry``'s media links with: ``$SHANTY_SECRET`` when set (checked,
    see :attr:`shanty.settings.Settings.secret`); else, for a registry without a local path (a bucket),
    :func:`registry_secret`; else the local file :func:`default_secret_file` (:func:`load_or_create_secret`).
    Raises InvalidInputError for a bad ``$SHANTY_SECRET`` and what those functions raise."""
    chosen = settings()
    key = chosen.secret
    if key is not None:
        return key
    if local_path(registry.root) is None:
        return registry_secret(registry)
    return load_or_create_secret(chosen.secret_file)


def viewer_tag(user: str) -> str:
    """What a token carries of the user it was minted for (``user``: their e-mail, else their subject):
    a short hash, so a copied link shows no address; the token's signature makes it unforgeable."""
    return hashlib.sha256(user.strip().lower().encode("utf-8")).hexdigest()[:16]


def check_viewer(claim: MediaClaim, viewer: Sequence[str] | None, policy: AccessPolicy | None) -> None:
    """Refuse (MediaDeniedError) a genuine claim to ``viewer`` (the requesting user's identities, e-mail
    first, then subject; None or empty: signed out) when the token was minted for another user, or when
    ``policy`` (None: no policy, everything open) does not let the viewer read the claim's project now.
    Checked on every request, so a user who lost access cannot replay a token they were given."""
    viewer = [v for v in (viewer or ()) if v]
    if claim.user is not None and (not viewer or viewer_tag(viewer[0]) != claim.user):
        raise MediaDeniedError("This media link was made for another user; sign in as them or reload the page.")
    if policy is not None and not policy.can(viewer or None, claim.project):
        raise MediaDeniedError("You may not see this project's media; ask its owner for access.")
