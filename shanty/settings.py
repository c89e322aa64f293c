"""Every ``SHANTY_*`` environment variable, read in one place.

:func:`settings` returns a frozen :class:`Settings`. It is computed once per
distinct set of values (so a process whose environment changes, like a test
that sets ``SHANTY_ROOT``, sees the change, and nobody re-parses it per call).
Variables of the SDKs themselves (``AWS_*``, ``STORAGE_EMULATOR_HOST``,
``GOOGLE_APPLICATION_CREDENTIALS``) stay with the backend that uses them.

| variable | meaning | default |
|---|---|---|
| ``SHANTY_ROOT`` | registry root (folder, ``s3://`` or ``gs://``) | ``~/.shanty`` (the dashboard: the demo) |
| ``SHANTY_CACHE`` | verified copies of remote immutable objects | ``$XDG_CACHE_HOME/shanty`` |
| ``SHANTY_SECRET`` | the dashboard's media signing secret itself (hex or base64, at least 16 bytes; the same on every replica) | unset: kept in a bucket registry, else in ``SHANTY_SECRET_FILE`` |
| ``SHANTY_SECRET_FILE`` | where a local registry's dashboard keeps its signing secret | ``$XDG_CONFIG_HOME/shanty/app-secret`` |
| ``SHANTY_MEDIA_PROXY`` | ``1``: relay bucket bytes through the app | off (redirect to presigned URLs) |
| ``SHANTY_DUCKDB_THREADS`` | DuckDB worker threads | all cores |
| ``SHANTY_DUCKDB_MEMORY_LIMIT`` | DuckDB memory before spilling to disk | ``512MB`` |
| ``SHANTY_PROGRESS`` | ``0``: no progress bars in a terminal | on |
| ``SHANTY_S3_MAX_ATTEMPTS`` | attempts per S3 request (else ``AWS_MAX_ATTEMPTS``) | 6 |
| ``SHANTY_GCS_RETRY_DEADLINE`` | seconds of retries per GCS request | the SDK's |
| ``SHANTY_OUTAGE_SECONDS`` | how long a listing or download waits out a store that stopped answering, then resumes where it was | 30 |
"""

from __future__ import annotations

import base64
import binascii
import functools
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

from .errors import InvalidInputError

__all__ = ["DEFAULT_S3_MAX_ATTEMPTS", "MIN_SECRET_BYTES", "Settings", "settings"]

DEFAULT_S3_MAX_ATTEMPTS = 6
MIN_SECRET_BYTES = 16  # 128 bits, as the token's HMAC; `openssl rand -hex 32` gives 32
_HEX = re.compile(r"^(?:[0-9a-fA-F]{2})+$")
_VARIABLES = (
    "SHANTY_ROOT",
    "SHANTY_CACHE",
    "SHANTY_SECRET",
    "SHANTY_SECRET_FILE",
    "SHANTY_MEDIA_PROXY",
    "SHANTY_DUCKDB_THREADS",
    "SHANTY_DUCKDB_MEMORY_LIMIT",
    "SHANTY_PROGRESS",
    "SHANTY_S3_MAX_ATTEMPTS",
    "SHANTY_GCS_RETRY_DEADLINE",
    "SHANTY_OUTAGE_SECONDS",
    # Fallbacks the SHANTY_ ones are derived from.
    "AWS_MAX_ATTEMPTS",
    "XDG_CACHE_HOME",
    "XDG_CONFIG_HOME",
    "HOME",
)
_TRUE = {"1", "true", "yes", "on"}


@dataclass(frozen=True)
class Settings:
    """What the environment asks of shanty; see the module docstring for each field's variable."""

    root: str | None
    cache_dir: Path
    secret_text: str | None = field(repr=False)  # never shown: a repr ends up in logs
    secret_file: Path
    media_proxy: bool
    duckdb_threads: int
    duckdb_memory_limit: str
    progress: bool
    s3_max_attempts_text: str
    s3_max_attempts_variable: str
    gcs_retry_deadline: str | None
    outage_text: str = "30"

    @property
    def default_root(self) -> str:
        """``root`` if set, else ``~/.shanty``."""
        return self.root or os.path.join(os.path.expanduser("~"), ".shanty")

    @property
    def secret(self) -> bytes | None:
        """The signing secret ``SHANTY_SECRET`` holds (hex when it is all hex digits, else base64 or
        base64url, padding optional), None when unset; InvalidInputError (never quoting the value) when
        it is neither or shorter than 16 bytes."""
        text = (self.secret_text or "").strip()
        if not text:
            return None
        if _HEX.match(text):
            key = bytes.fromhex(text)
        else:
            try:
                key = base64.b64decode(text.replace("-", "+").replace("_", "/") + "=" * (-len(text) % 4), validate=True)
            except (binascii.Error, ValueError):
                raise InvalidInputError(
                    "SHANTY_SECRET is neither hex nor base64; set it to the output of `openssl rand -hex 32`."
                ) from None
        if len(key) < MIN_SECRET_BYTES:
            raise InvalidInputError(
                f"SHANTY_SECRET holds {len(key)} bytes, fewer than the {MIN_SECRET_BYTES} a signing secret needs; "
                "set it to the output of `openssl rand -hex 32`."
            )
        return key

    @property
    def s3_max_attempts(self) -> int:
        """Attempts per S3 request; InvalidInputError naming the variable when it is not a whole number >= 1."""
        text = self.s3_max_attempts_text
        if not text.isdigit() or int(text) < 1:
            raise InvalidInputError(
                f"{self.s3_max_attempts_variable}={text!r} is not a valid number of S3 attempts; "
                "set it to a whole number of at least 1."
            )
        return int(text)

    @property
    def gcs_retry_seconds(self) -> float | None:
        """Seconds of retries per GCS request, None for the SDK's default; InvalidInputError when not positive."""
        text = self.gcs_retry_deadline
        if not text:
            return None
        try:
            seconds = float(text)
        except ValueError:
            seconds = 0.0
        if seconds <= 0:
            raise InvalidInputError(f"SHANTY_GCS_RETRY_DEADLINE={text!r} is not a positive number of seconds.")
        return seconds

    @property
    def outage_seconds(self) -> float:
        """How long a listing or download rides out a store that stopped answering; InvalidInputError
        when SHANTY_OUTAGE_SECONDS is not a number of seconds (0 turns the waiting off)."""
        try:
            seconds = float(self.outage_text)
        except ValueError:
            seconds = -1.0
        if seconds < 0:
            raise InvalidInputError(
                f"SHANTY_OUTAGE_SECONDS={self.outage_text!r} is not a number of seconds; set it to 0 or more."
            )
        return seconds


def settings() -> Settings:
    """The current settings (re-read only when one of the variables changed)."""
    return _settings(tuple(os.environ.get(name) for name in _VARIABLES))


@functools.lru_cache(maxsize=8)
def _settings(values: tuple[str | None, ...]) -> Settings:
    env = dict(zip(_VARIABLES, values, strict=True))
    home = os.path.expanduser("~")
    cache = env["SHANTY_CACHE"] or os.path.join(env["XDG_CACHE_HOME"] or os.path.join(home, ".cache"), "shanty")
    config = env["XDG_CONFIG_HOME"] or os.path.join(home, ".config")
    secret = env["SHANTY_SECRET_FILE"]
    threads = env["SHANTY_DUCKDB_THREADS"] or ""
    attempts_variable = "SHANTY_S3_MAX_ATTEMPTS" if env["SHANTY_S3_MAX_ATTEMPTS"] else "AWS_MAX_ATTEMPTS"
    return Settings(
        root=env["SHANTY_ROOT"] or None,
        cache_dir=Path(cache),
        secret_text=env["SHANTY_SECRET"] or None,
        # Deliberately outside any registry (~/.shanty may be synced or shared): the secret belongs to this install.
        secret_file=Path(secret).expanduser() if secret else Path(config) / "shanty" / "app-secret",
        media_proxy=(env["SHANTY_MEDIA_PROXY"] or "").strip().lower() in _TRUE,
        duckdb_threads=int(threads) if threads.isdigit() and int(threads) > 0 else max(1, os.cpu_count() or 1),
        # A dashboard shares the machine; queries that need more spill to disk instead of failing.
        duckdb_memory_limit=env["SHANTY_DUCKDB_MEMORY_LIMIT"] or "512MB",
        progress=env["SHANTY_PROGRESS"] != "0",
        s3_max_attempts_text=env[attempts_variable] or str(DEFAULT_S3_MAX_ATTEMPTS),
        s3_max_attempts_variable=attempts_variable,
        gcs_retry_deadline=env["SHANTY_GCS_RETRY_DEADLINE"] or None,
        outage_text=env["SHANTY_OUTAGE_SECONDS"] or "30",
    )
