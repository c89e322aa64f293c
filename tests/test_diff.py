from __future__ import annotations

from shanty.diff.formatting import diff_to_json, diff_to_markdown, diff_to_text
from shanty.diff.manifests import ChangeKind, diff_manifests
from shanty.manifest import Manifest, ManifestEntry


def m(*items: tuple[str, str, int]) -> Manifest:
    return Manifest(ManifestEntry(p, d, s) for p, d, s in items)


OLD = m(("keep.wav", "k", 10), ("edit.wav", "e1", 10), ("gone.wav", "g", 5), ("old_name.wav", "r", 7))
NEW = m(("keep.wav", "k", 10), ("edit.wav", "e2", 14), ("new.wav", "n", 3), ("new_name.wav", "r", 7))


def test_every_kind_of_change_is_found() -> None:
    diff = diff_manifests(OLD, NEW)
    found = {(c.kind, c.path, c.old.path if c.old else None) for c in diff.changes}
    assert found == {
        (ChangeKind.UNCHANGED, "keep.wav", "keep.wav"),
        (ChangeKind.MODIFIED, "edit.wav", "edit.wav"),
        (ChangeKind.REMOVED, "gone.wav", "gone.wav"),
        (ChangeKind.ADDED, "new.wav", None),
        (ChangeKind.RENAMED, "new_name.wav", "old_name.wav"),
    }


def test_summary_counts_and_bytes() -> None:
    s = diff_manifests(OLD, NEW).summary
    assert (s.added.count, s.added.new_bytes) == (1, 3)
    assert (s.removed.count, s.removed.old_bytes) == (1, 5)
    assert (s.modified.count, s.modified.delta) == (1, 4)
    assert (s.renamed.count, s.unchanged.count) == (1, 1)
    assert (s.old_files, s.new_files, s.old_bytes, s.new_bytes) == (4, 4, 32, 34)
    assert s.changed


def test_identical_manifests_have_no_changes() -> None:
    diff = diff_manifests(OLD, OLD)
    assert not diff.summary.changed and all(c.kind is ChangeKind.UNCHANGED for c in diff.changes)
    assert "No changes." in diff_to_text(diff, "a", "b")


def test_duplicate_contents_pair_renames_one_to_one() -> None:
    old = m(("a1", "same", 1), ("a2", "same", 1))
    new = m(("b1", "same", 1))
    kinds = sorted((c.kind.value, c.path) for c in diff_manifests(old, new).changes)
    assert kinds == [("removed", "a2"), ("renamed", "b1")]


def test_formats_carry_the_changes() -> None:
    diff = diff_manifests(OLD, NEW)
    as_json = diff_to_json(diff, "p/a:v0", "p/a:v1")
    assert {c["kind"] for c in as_json["changes"]} == {"added", "removed", "modified", "renamed"}
    assert as_json["summary"]["modified"]["delta"] == 4
    text = diff_to_text(diff, "p/a:v0", "p/a:v1")
    assert "+ new.wav" in text and "> old_name.wav -> new_name.wav" in text and "keep.wav" not in text
    markdown = diff_to_markdown(diff, "p/a:v0", "p/a:v1")
    assert "| added | new.wav | 3 B |" in markdown and "| renamed | old\\_name.wav → new\\_name.wav | 7 B |" in markdown


def test_markdown_escapes_table_syntax() -> None:
    diff = diff_manifests(m(), m(("we|ird*.wav", "x", 1)))
    assert "we\\|ird\\*.wav" in diff_to_markdown(diff, "a", "b")
