"""The ``shanty`` command line.

Every command maps to one library call and prints its result; errors a user
can act on print one line and exit 1 (usage errors exit 2), never a traceback.
The registry root is ``--registry``, else ``$SHANTY_ROOT``, else ``~/.shanty``.
"""

from __future__ import annotations

import argparse
import itertools
import json
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

# Only light modules at the top: building the parser (and `shanty --help`) must not load pandas,
# pyarrow, DuckDB or a cloud SDK, so each command imports the library parts it needs when it runs.
from .errors import InvalidInputError, ShantyError

if TYPE_CHECKING:
    from .artifact import ArtifactVersion

__all__ = ["build_parser", "main"]


def _printable(value: object) -> str:
    # Object names come from buckets: a control character (a terminal escape) is shown, never obeyed.
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in str(value))


def _table(rows: list[list[str]], header: list[str]) -> str:
    rows = [[_printable(cell) for cell in row] for row in rows]
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    fmt = "  ".join(f"{{:<{w}}}" for w in widths)
    return "\n".join(fmt.format(*r).rstrip() for r in [header, *rows])


def _api(args: argparse.Namespace):
    from .public_api import Api

    return Api(args.registry)


def _version(args: argparse.Namespace, ref: str) -> ArtifactVersion:
    return _api(args).artifact(ref)


def cmd_ref_add(args: argparse.Namespace) -> None:
    from .api import Run
    from .artifact import Artifact
    from .formatting import human_size
    from .names import check_alias, check_name

    check_name(args.project, "Project")  # before listing: a typo should not cost a bucket scan
    for alias in args.alias:
        check_alias(alias)
    artifact = Artifact(args.name, type=args.type, description=args.note)
    for uri in args.uri:
        artifact.add_reference(
            uri,
            name=args.entry_name,
            checksum=not args.no_checksum,
            max_objects=args.max_objects,
            inventory=args.inventory,
        )
    with Run(project=args.project, job_type=args.job_type, root=args.registry) as run:
        before = {v.digest for v in _safe_versions(run.registry, args.project, args.name)}
        logged = run.log_artifact(artifact, aliases=args.alias)
    state = "unchanged, no new version" if logged.digest in before else "new version"
    print(f"{logged.qualified_name}  {logged.file_count} files  {human_size(logged.size)}  ({state})")


def _safe_versions(registry, project: str, name: str) -> list:
    try:
        return registry.versions(project, name)
    except ShantyError:
        return []


def cmd_projects(args: argparse.Namespace) -> None:
    for project in _api(args).projects():
        print(project)


def cmd_artifacts(args: argparse.Namespace) -> None:
    from .formatting import human_size

    rows = [
        [a.name, a.type, str(a.version_count), a.latest.version, human_size(a.latest.total_size)]
        for a in _api(args).artifact_collections(args.project)
    ]
    print(_table(rows, ["artifact", "type", "versions", "latest", "size"]))


def cmd_versions(args: argparse.Namespace) -> None:
    from .formatting import human_size

    rows = [
        [
            v.version,
            ",".join(v.aliases),
            v.created_at[:19].replace("T", " "),
            v.info.job_type or "",
            str(v.file_count),
            human_size(v.size),
            v.digest[:12],
            v.description or "",
        ]
        for v in _api(args).versions(args.artifact)
    ]
    print(_table(rows, ["version", "aliases", "created", "job", "files", "size", "digest", "note"]))


def cmd_files(args: argparse.Namespace) -> None:
    from .diff.formatting import entry_to_json

    # A generator: a large stored manifest is read a batch at a time, and only until --limit is reached.
    found = (e for e in _version(args, args.ref).manifest if not args.search or args.search.lower() in e.path.lower())
    entries = list(itertools.islice(found, args.limit) if args.limit else found)
    if args.json:
        print(json.dumps([entry_to_json(e) for e in entries], indent=2))
        return
    rows = [[e.path, str(e.size), e.digest, e.object_version or "", e.ref or "(stored)"] for e in entries]
    print(_table(rows, ["path", "size", "digest", "object version", "reference"]))


def cmd_diff(args: argparse.Namespace) -> None:
    from .diff.formatting import diff_to_json, diff_to_markdown, diff_to_text
    from .diff.manifest_files import diff_manifest_files
    from .diff.manifests import ChangeKind, Diff
    from .query.paging import MAX_PAGE_SIZE

    client = _api(args)
    old, new = client.artifact(args.old), client.artifact(args.new)
    # The engine diff keeps a million-entry diff to seconds and bounded memory; pages are collected here.
    engine_diff = diff_manifest_files(old.manifest_file(), new.manifest_file())
    kinds = list(ChangeKind) if args.all else [k for k in ChangeKind if k is not ChangeKind.UNCHANGED]
    changes, page = [], 1
    while True:
        batch = engine_diff.changes(kinds=kinds, page=page, page_size=MAX_PAGE_SIZE)
        changes.extend(batch.changes)
        if page >= batch.page_count:
            break
        page += 1
    diff = Diff(tuple(changes), engine_diff.summary)
    if args.format == "json":
        print(json.dumps(diff_to_json(diff, old.qualified_name, new.qualified_name, args.all), indent=2))
    elif args.format == "markdown":
        print(diff_to_markdown(diff, old.qualified_name, new.qualified_name))
    else:
        print(diff_to_text(diff, old.qualified_name, new.qualified_name, args.all))


def cmd_alias_set(args: argparse.Namespace) -> None:
    version = _version(args, args.ref)
    info = _api(args).registry.set_aliases(version.info, args.aliases)
    print(f"{info.qualified_name}: {', '.join(info.aliases)}")


def cmd_alias_rm(args: argparse.Namespace) -> None:
    from .names import parse_artifact_ref

    ref = parse_artifact_ref(args.artifact)
    if ref.project is None:
        raise ShantyError(f"Write the artifact as 'project/{ref.name}'.")
    _api(args).registry.remove_aliases(ref.project, ref.name, args.aliases)
    print(f"removed {', '.join(args.aliases)} from {ref.project}/{ref.name}")


def cmd_note(args: argparse.Namespace) -> None:
    version = _version(args, args.ref)
    version.description = args.text
    version.save()
    print(f"{version.qualified_name}: note saved")


def cmd_download(args: argparse.Namespace) -> None:
    version = _version(args, args.ref)
    report = version.download_report(args.root, skip_changed=args.skip_changed)
    print(f"{report.root}: {len(report.downloaded)} downloaded, {len(report.present)} already present")
    for path in report.changed:
        print(f"skipped (changed since logged): {path}", file=sys.stderr)


def cmd_manifest_export(args: argparse.Namespace) -> None:
    text = json.dumps(_version(args, args.ref).manifest.to_wandb_json(), indent=2)
    if args.out:
        Path(args.out).write_text(text + "\n")
    else:
        print(text)


def cmd_manifest_import(args: argparse.Namespace) -> None:
    from .api import Run
    from .jsonfile import read_json_file
    from .manifest import Manifest

    path = Path(args.file)
    data = read_json_file(path, "give the path of a wandb_manifest.json, exported again if it is damaged.")
    manifest = Manifest.from_wandb_json(data, where=str(path), local_files=args.allow_local_files)
    with Run(project=args.project, job_type="import", root=args.registry) as run:
        registry = run.registry
        info, created = registry.commit_version(
            args.project,
            args.name,
            type=args.type,
            manifest=manifest,
            description=args.note,
            run={"id": run.id, "job_type": "import"},
        )
    print(
        f"{info.qualified_name}  {info.file_count} files ({'new version' if created else 'unchanged, no new version'})"
    )


def cmd_import_wandb(args: argparse.Namespace) -> None:
    from .formatting import human_size
    from .names import check_name
    from .wandb_import import RunImport, import_wandb

    check_name(args.project, "Project")
    done = import_wandb(args.folder, args.project, args.name, args.type, root=args.registry)
    versions = done.versions if isinstance(done, RunImport) else (done,)
    if isinstance(done, RunImport):
        print(f"run {done.project}/{done.run_id}  {done.steps} history rows")
    for version in versions:
        print(f"{version.qualified_name}  {version.file_count} files  {human_size(version.size)}")


def cmd_demo(args: argparse.Namespace) -> None:
    try:
        from .demo.build import DEMO_PROJECT, build_demo
    except ImportError as exc:  # Pillow and PyAV are the demo extra, not the library's
        raise InvalidInputError(
            f"The demo needs the demo extra, which is not installed ({exc}); run pip install 'shanty[demo]'."
        ) from exc
    from .registry import Registry

    registry = Registry(args.registry)
    build_demo(registry.root, args.media)
    print(
        f"demo project {DEMO_PROJECT!r} logged in {registry.root}; its bucket is {Path(args.media).resolve() / 'bucket'}"
    )


def _embed_function(spec: str) -> Callable:
    module_name, _, attr = spec.partition(":")
    if not module_name or not attr:
        raise InvalidInputError(f"--embed takes module:function (e.g. mypkg.embed:vector), not {spec!r}.")
    import importlib

    try:
        found = getattr(importlib.import_module(module_name), attr)
    except (ImportError, AttributeError) as exc:
        raise InvalidInputError(f"Cannot load the embedding function {spec!r} ({exc}); check the name.") from exc
    if not callable(found):
        raise InvalidInputError(f"{spec!r} is not a function; --embed takes module:function.")
    return found


def cmd_enrich(args: argparse.Namespace) -> None:
    from .enrichment import enrich

    version = _version(args, args.ref)
    runner = "ray" if args.ray else "serial" if args.serial else "local"
    embed = _embed_function(args.embed) if args.embed else None
    result = enrich(
        version,
        args.table,
        columns=args.column or None,
        runner=runner,
        workers=args.workers,
        ray_address=args.ray or "auto",
        embed=embed,
    )
    print(
        f"{result.version.qualified_name}: {len(result.columns)} columns added "
        f"({result.measured:,} files measured, {result.cached:,} from the cache)"
    )
    for uri, why in sorted(result.failed.items()):
        print(f"  not measured: {_printable(uri)}: {_printable(why)}")


def cmd_doctor(args: argparse.Namespace) -> None:
    from .doctor import check_registry  # only this command needs it
    from .registry import Registry

    registry = Registry(args.registry)
    findings = check_registry(registry, repair=args.repair)
    for finding in findings:
        print(_printable(finding.sentence()))
    left = [f for f in findings if not f.repaired]
    if not findings:
        print(f"{registry.root}: no problems found.")
    elif left:
        hint = "" if args.repair else "; `shanty doctor --repair` repairs what it can without losing a version"
        raise ShantyError(f"{len(left)} of {len(findings)} problems in {registry.root} are not repaired{hint}.")
    else:
        print(f"{registry.root}: {len(findings)} problems repaired; no version was lost.")


def cmd_access(args: argparse.Namespace) -> None:
    from .access import load_policy, update_policy

    if args.access_command != "show":
        mode = "write" if args.write else "read"
        allow = args.access_command == "grant"
        update_policy(args.registry, lambda policy: policy.changed(args.project, args.user, mode, allow=allow))
    policy = load_policy(args.registry)
    if policy is None:
        print("no access policy: every project is open to everyone")
        return
    rows = [[p, ", ".join(sorted(g.read)) or "-", ", ".join(sorted(g.write)) or "-"] for p, g in policy.grants.items()]
    print(_table(sorted(rows), ["project", "read", "write"]))


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="shanty", description="Version media in buckets by reference; list, diff and download versions."
    )
    parser.add_argument("--registry", metavar="URI", help="registry root (default: $SHANTY_ROOT, else ~/.shanty)")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def add(name: str, func: Callable[[argparse.Namespace], None], help: str, parent=sub) -> argparse.ArgumentParser:
        p = parent.add_parser(name, help=help, description=help)
        p.set_defaults(func=func)
        return p

    ref = sub.add_parser("ref", help="track objects by reference").add_subparsers(
        dest="ref_command", required=True, metavar="ACTION"
    )
    p = add(
        "add",
        cmd_ref_add,
        "Log a bucket prefix, folder or object as a new artifact version (none if nothing changed).",
        ref,
    )
    p.add_argument("uri", nargs="+", help="s3://, gs://, file:// URI or local path")
    p.add_argument("--project", required=True)
    p.add_argument("--name", required=True, help="artifact name")
    p.add_argument("--type", required=True, help="artifact type, e.g. raw_data")
    p.add_argument("--alias", action="append", default=[], help="alias to set (repeatable)")
    p.add_argument("--note", help="note (description) for the version")
    p.add_argument("--job-type", default="cli", help="job type recorded for lineage (default: cli)")
    p.add_argument("--entry-name", help="path prefix for the entries (or the name of a single object)")
    p.add_argument("--max-objects", type=int, help="fail if more objects than this are found")
    p.add_argument(
        "--inventory",
        metavar="REPORT",
        help="read the objects from this S3 Inventory / GCS inventory report (manifest.json or its folder) "
        "instead of listing the bucket; much faster past a million objects",
    )
    p.add_argument(
        "--no-checksum",
        action="store_true",
        help="for local files: fingerprint by size and mtime instead of reading bytes",
    )

    add("projects", cmd_projects, "List projects.")
    add("artifacts", cmd_artifacts, "List a project's artifacts.").add_argument("project")
    add("versions", cmd_versions, "List an artifact's versions.").add_argument("artifact", help="project/name")
    p = add("files", cmd_files, "List a version's files.")
    p.add_argument("ref", help="project/name:version")
    p.add_argument("--search", help="only paths containing this text")
    p.add_argument("--limit", type=int, help="at most this many files")
    p.add_argument("--json", action="store_true")

    p = add("diff", cmd_diff, "Compare two versions: added, removed, modified, renamed files.")
    p.add_argument("old", help="project/name:v0")
    p.add_argument("new", help="project/name:v1")
    p.add_argument("--json", dest="format", action="store_const", const="json", default="text", help="print JSON")
    p.add_argument(
        "--markdown", dest="format", action="store_const", const="markdown", help="print Markdown (for a pull request)"
    )
    p.add_argument("--all", action="store_true", help="list unchanged files too")

    alias = sub.add_parser("alias", help="set or remove aliases").add_subparsers(
        dest="alias_command", required=True, metavar="ACTION"
    )
    p = add("set", cmd_alias_set, "Point aliases at a version (they move off any other version).", alias)
    p.add_argument("ref", help="project/name:version")
    p.add_argument("aliases", nargs="+")
    p = add("rm", cmd_alias_rm, "Remove aliases from an artifact.", alias)
    p.add_argument("artifact", help="project/name")
    p.add_argument("aliases", nargs="+")

    p = add("note", cmd_note, "Set the note (description) of a version.")
    p.add_argument("ref", help="project/name:version")
    p.add_argument("text")

    p = add("download", cmd_download, "Download a version's files at their recorded object versions.")
    p.add_argument("ref", help="project/name:version")
    p.add_argument("--root", required=True, help="folder to download into")
    p.add_argument(
        "--skip-changed", action="store_true", help="skip (and report) files that changed since they were logged"
    )

    manifest = sub.add_parser("manifest", help="W&B manifest import/export").add_subparsers(
        dest="manifest_command", required=True, metavar="ACTION"
    )
    p = add("export", cmd_manifest_export, "Write a version's manifest as W&B's wandb_manifest.json.", manifest)
    p.add_argument("ref")
    p.add_argument("--out", help="file to write (default: stdout)")
    p = add("import", cmd_manifest_import, "Log a W&B wandb_manifest.json as a new version.", manifest)
    p.add_argument("file")
    p.add_argument("--project", required=True)
    p.add_argument("--name", required=True)
    p.add_argument("--type", required=True)
    p.add_argument("--note")
    p.add_argument(
        "--allow-local-files",
        action="store_true",
        help="accept file:// references (your own manifest); each file must still hold the recorded bytes",
    )
    p = add(
        "import-wandb",
        cmd_import_wandb,
        "Import W&B output: an artifact folder as artifact.download() writes it, or an offline run folder "
        "(wandb/offline-run-*: history, config, summary, tables, media; needs shanty[wandb]).",
    )
    p.add_argument("folder", help="an artifact folder, or a wandb/offline-run-<date>-<id> folder")
    p.add_argument("--project", required=True)
    p.add_argument("--name", help="artifact name (default: the folder's name); runs keep their W&B names")
    p.add_argument("--type", help="artifact type, needed for an artifact folder (e.g. dataset)")

    access = sub.add_parser("access", help="who may see which project in the dashboard").add_subparsers(
        dest="access_command", required=True, metavar="ACTION"
    )
    for name, help in (("grant", "Let a user read (or --write) a project."), ("revoke", "Take that away again.")):
        p = add(name, cmd_access, help, access)
        p.add_argument("project", help="project name, or * for every project without its own grant")
        p.add_argument("user", help="e-mail or OIDC subject, or * for every signed-in user")
        p.add_argument("--write", action="store_true", help="write access (granting it also grants read)")
    add("show", cmd_access, "Print the access policy.", access)

    p = add(
        "enrich",
        cmd_enrich,
        "Measure a table's audio, images and video (duration, loudness, size, colour, a spectrogram or poster, "
        "an embedding) and log the table with those columns as a new version.",
    )
    p.add_argument("ref", help="project/name:version holding the table")
    p.add_argument("--table", help="table to enrich (needed when the version holds several)")
    p.add_argument("--column", action="append", default=[], help="only this media column (repeatable)")
    p.add_argument("--workers", type=int, help="local worker processes (default: all cores)")
    where = p.add_mutually_exclusive_group()
    where.add_argument("--serial", action="store_true", help="measure in this process, one file at a time")
    where.add_argument(
        "--ray",
        nargs="?",
        const="auto",
        metavar="ADDRESS",
        help="run on a Ray cluster: auto (a running one, else a local one) or its address; needs shanty[ray]",
    )
    p.add_argument("--embed", metavar="MODULE:FUNCTION", help="your embedding function f(kind, bytes) -> vector")

    p = add(
        "doctor",
        cmd_doctor,
        "Check the registry (log records, snapshots, manifests, runs) and say what is wrong and how to repair it.",
    )
    p.add_argument(
        "--repair",
        action="store_true",
        help="repair what can be repaired without losing a version (damaged bytes are kept)",
    )

    p = add("demo", cmd_demo, "Build the demo workspace (synthesised whale songs, tables, versions) into the registry.")
    p.add_argument(
        "--media", default="shanty-demo", help="folder for the demo's generated media (default: ./shanty-demo)"
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; returns the exit code (0 ok, 1 user-facing error, 2 usage, 130 interrupted)."""
    args = build_parser().parse_args(argv)
    try:
        args.func(args)
    except ShantyError as exc:
        print(f"shanty: error: {exc}", file=sys.stderr)
        return 1
    except OSError as exc:  # a path given on the command line: missing folder, no permission, a file for a folder
        where = f" {exc.filename}" if exc.filename else ""
        print(
            f"shanty: error: cannot use{where}: {exc.strerror or exc}; check the path and its permissions.",
            file=sys.stderr,
        )
        return 1
    except KeyboardInterrupt:
        print("shanty: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0
    return 0


if __name__ == "__main__":
    sys.exit(main())
