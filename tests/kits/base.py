"""What the shared backend test suite needs from each backend.

A *kit* makes fresh buckets and changes objects the way an outside user
would (through the file system, boto3 or google-cloud-storage directly, never
through shanty), so the suite tests shanty against real stores.
"""

from __future__ import annotations

from typing import Protocol

from shanty.storage import Storage


class BackendKit(Protocol):
    name: str  # "file" | "s3" | "gcs"
    storage: Storage

    def new_bucket(self, versioned: bool = True) -> str:
        """A fresh, empty bucket (or folder); returns its base URI without a trailing slash."""
        ...

    def put(self, uri: str, data: bytes) -> None:
        """Create or overwrite the object at ``uri``; a ``uri`` ending in ``/`` makes a folder marker."""
        ...

    def current_version(self, uri: str) -> str | None:
        """The version id of the object now at ``uri`` (S3 VersionId, GCS generation); None without versions."""
        ...

    def pinned(self, uri: str, version: str) -> str:
        """``uri`` naming ``version``, written the way users of the store write it."""
        ...

    def delete(self, uri: str) -> None:
        """Delete the object at ``uri`` (in a versioned bucket this leaves older versions)."""
        ...

    def supports_versions(self, bucket_uri: str) -> bool:
        """Whether old object versions in this bucket can still be fetched."""
        ...
