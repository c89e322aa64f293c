from __future__ import annotations

import json

import pytest

from shanty.errors import InvalidInputError, MalformedError
from shanty.manifest import Manifest, ManifestEntry, check_entry_path, manifest_digest


def entries() -> list[ManifestEntry]:
    return [
        ManifestEntry("b.wav", "digB", 20, "s3://bkt/b.wav", "ver2", {"etag": "e"}),
        ManifestEntry("a.wav", "digA", 10, "s3://bkt/a.wav", None, {}),
        ManifestEntry("dir/c.wav", "digC", 30),
    ]


def test_digest_is_deterministic_and_order_free() -> None:
    forward, backward = Manifest(entries()), Manifest(reversed(entries()))
    assert (
        forward.digest
        == backward.digest
        == manifest_digest([("a.wav", "digA"), ("b.wav", "digB"), ("dir/c.wav", "digC")])
    )


def test_digest_matches_wandb_algorithm() -> None:
    # W&B: md5 over "wandb-artifact-manifest-v1\n" + "path:digest\n" per sorted entry.
    import hashlib

    expected = hashlib.md5(b"wandb-artifact-manifest-v1\na.wav:digA\nb.wav:digB\ndir/c.wav:digC\n").hexdigest()
    assert Manifest(entries()).digest == expected


def test_digest_changes_with_content_or_path() -> None:
    base = Manifest(entries()).digest
    changed = entries()
    changed[0] = ManifestEntry("b.wav", "other", 20)
    renamed = entries()
    renamed[1] = ManifestEntry("z.wav", "digA", 10)
    assert len({base, Manifest(changed).digest, Manifest(renamed).digest}) == 3


def test_parquet_round_trip_keeps_every_field() -> None:
    manifest = Manifest(entries())
    back = Manifest.from_parquet_bytes(manifest.to_parquet_bytes())
    assert sorted(back.entries) == ["a.wav", "b.wav", "dir/c.wav"]
    b = back.entries["b.wav"]
    assert (b.digest, b.size, b.ref, b.object_version, dict(b.extra)) == (
        "digB",
        20,
        "s3://bkt/b.wav",
        "ver2",
        {"etag": "e"},
    )
    assert back.entries["dir/c.wav"].ref is None


def test_wandb_json_round_trip() -> None:
    manifest = Manifest(entries())
    exported = manifest.to_wandb_json()
    assert exported["version"] == 1 and exported["contents"]["b.wav"]["extra"] == {"etag": "e", "versionID": "ver2"}
    back = Manifest.from_wandb_json(json.loads(json.dumps(exported)))
    assert back.entries["b.wav"].object_version == "ver2" and back.digest == manifest.digest


@pytest.mark.parametrize(
    "data, message",
    [
        ([], "not a W&B manifest"),
        ({"version": 2, "contents": {}}, "not a W&B manifest"),
        ({"version": 1, "contents": {"a": {"size": 1}}}, "no digest"),
        ({"version": 1, "contents": {"a": {"digest": "x", "size": -1}}}, "invalid size"),
        ({"version": 1, "contents": {"../etc/passwd": {"digest": "x", "size": 1}}}, "inside the artifact"),
    ],
)
def test_malformed_wandb_manifest_is_a_clear_error(data, message) -> None:
    with pytest.raises(MalformedError, match=message):
        Manifest.from_wandb_json(data)


def test_damaged_parquet_is_a_clear_error() -> None:
    with pytest.raises(MalformedError, match="not a readable Parquet"):
        Manifest.from_parquet_bytes(b"PAR1 garbage", where="m.parquet")


def test_same_path_with_other_content_is_refused() -> None:
    manifest = Manifest([ManifestEntry("a.wav", "one", 1)])
    manifest.add(ManifestEntry("a.wav", "one", 1))  # identical: fine
    with pytest.raises(InvalidInputError, match="name="):
        manifest.add(ManifestEntry("a.wav", "two", 1))


@pytest.mark.parametrize("bad", ["", "/abs", "..", "../x", "a/../../x", "a\x00b"])
def test_entry_paths_cannot_escape(bad: str) -> None:
    with pytest.raises(InvalidInputError):
        check_entry_path(bad)


def test_entry_paths_are_normalised() -> None:
    assert check_entry_path("a/./b//c.wav") == "a/b/c.wav"
    assert check_entry_path("a\\b.wav") == "a/b.wav"
