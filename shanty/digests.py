"""Content digests and their verification.

Entry digests follow W&B so manifests stay interchangeable: base64 MD5 for
local files and GCS objects, the ETag for S3 objects. Verification picks the
strongest checksum recorded for an entry (MD5 > CRC32C > single-part ETag).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from collections.abc import Mapping
from pathlib import Path

__all__ = ["b64_to_hex", "file_matches", "md5_b64_bytes", "md5_b64_file"]

_CHUNK = 1 << 20  # 1 MiB reads: large enough that hashlib releases the GIL


def md5_b64_bytes(data: bytes) -> str:
    """Base64 MD5 of ``data`` (W&B's digest format)."""
    return base64.b64encode(hashlib.md5(data).digest()).decode("ascii")


def md5_b64_file(path: str | Path) -> str:
    """Base64 MD5 of a file, streamed in 1 MiB chunks."""
    md5 = hashlib.md5()
    with open(path, "rb") as handle:
        while chunk := handle.read(_CHUNK):
            md5.update(chunk)
    return base64.b64encode(md5.digest()).decode("ascii")


def b64_to_hex(b64: str) -> str:
    """Convert a base64 digest to hex (S3 ETags are hex MD5)."""
    return base64.b64decode(b64).hex()


def _crc32c_b64_file(path: Path) -> str:
    import google_crc32c  # shipped with google-cloud-storage

    crc = google_crc32c.Checksum()
    with open(path, "rb") as handle:
        while chunk := handle.read(_CHUNK):
            crc.update(chunk)
    return base64.b64encode(crc.digest()).decode("ascii")


def file_matches(path: str | Path, digest: str, extra: Mapping[str, object] | None = None) -> bool | None:
    """Whether the local file has the content an entry recorded.

    Returns None when nothing recorded can be checked (a multipart S3 ETag
    without an MD5), so callers can decide how strict to be.
    """
    path = Path(path)
    extra = extra or {}
    md5 = extra.get("md5")
    if isinstance(md5, str) and md5:
        return md5_b64_file(path) == md5
    crc = extra.get("crc32c")
    if isinstance(crc, str) and crc:
        return _crc32c_b64_file(path) == crc
    etag = str(extra.get("etag") or digest).strip('"')
    if len(etag) == 32 and all(c in "0123456789abcdef" for c in etag.lower()):
        return b64_to_hex(md5_b64_file(path)) == etag.lower()
    try:
        raw = base64.b64decode(digest, validate=True)
    except (binascii.Error, ValueError):
        return None
    if len(raw) == 16:
        return md5_b64_file(path) == digest
    return None
