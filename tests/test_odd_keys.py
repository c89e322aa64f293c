"""Red-team item 12: an object whose name has an empty, '.' or '..' part no longer blocks its whole prefix.

Buckets allow any key; a download folder does not (``data//x.wav`` and ``data/x.wav`` are one file there,
``data/../x`` is outside it). Such objects are left out of the reference with one warning naming them,
and the rest of the prefix is referenced as usual, on S3 (moto) and GCS (fake-gcs-server)."""

from __future__ import annotations

import pytest

import shanty
from shanty.artifact_reference import plain_key

ODD = ["songs//echo.wav", "songs/./dot.wav", "songs/a/../up.wav"]


@pytest.mark.parametrize(
    ("relpath", "plain"),
    [
        ("a.wav", True),
        (".hidden.wav", True),
        ("deep/.hidden/a.wav", True),
        ("/a.wav", False),
        ("a//b.wav", False),
        ("a/./b.wav", False),
        ("a/../b.wav", False),
        ("../b.wav", False),
        ("..", False),
        ("a/..", False),
        ("", False),
    ],
)
def test_plain_keys(relpath: str, plain: bool) -> None:
    assert plain_key(relpath) is plain


@pytest.mark.parametrize("backend", ["s3", "gcs"])
def test_odd_names_are_left_out_with_one_warning_and_the_prefix_still_references(
    backend: str, request: pytest.FixtureRequest
) -> None:
    kit = request.getfixturevalue(f"{backend}_kit")
    bucket = kit.new_bucket(versioned=False)
    for key in ["songs/a.wav", "songs/b/c.wav", *ODD]:
        kit.put(f"{bucket}/{key}", key.encode())
    artifact = shanty.Artifact("songs", type="raw_data")
    with pytest.warns(UserWarning, match=r"3 object\(s\) at .* have names with an empty, '\.' or '\.\.' part") as seen:
        artifact.add_reference(f"{bucket}/songs/")
    assert len(seen) == 1 and "Rename them to include them" in str(seen[0].message)
    assert sorted(artifact.manifest.entries) == ["a.wav", "b/c.wav"]
    with shanty.init(project="p") as run:
        logged = run.log_artifact(artifact)
    assert sorted(logged.manifest.entries) == ["a.wav", "b/c.wav"]
