"""The house rules, checked on the source: no import cycles, arrows point down, the library stays UI-free.

Imports are read with ``ast`` (every import, also inside functions and under
TYPE_CHECKING), so a rule is broken as soon as the line is written, not only
when it runs.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
LIBRARY = REPO / "shanty"

# Each unit of the library (a flat module or a family package) and the layer it sits in:
# a unit may import units of its own layer or below, never above.
LAYERS = [
    {"errors", "settings", "progress", "names", "digests", "records", "parquet_bytes", "formatting", "jsonfile"},
    {"run_filters", "wandb_compat"},
    {"storage"},
    {"manifest", "manifest_rows"},
    {"artifact_log"},
    {"log_store"},
    {"registry"},
    {"access"},
    {"tables"},
    {"query"},
    {"diff", "download"},
    {"artifact", "artifact_collection", "artifact_reference", "artifact_surface"},
    {"media", "api", "run_history", "run_log", "run_values", "run_metrics", "run_files", "run_surface", "public_api"},
    {"enrichment"},
    {"wandb_import", "demo", "run_module", "doctor"},
    {"cli"},
    {"__init__"},
]
LAYER_OF = {unit: rank for rank, units in enumerate(LAYERS) for unit in units}
UI_PACKAGES = ("streamlit", "starlette")


def module_name(path: Path) -> str:
    parts = list(path.relative_to(REPO).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported_modules(path: Path, known: set[str]) -> Iterator[tuple[str, int]]:
    """Absolute names of what ``path`` imports (``from pkg import module`` resolves to the module)."""
    name = module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, node.lineno
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            for alias in node.names:
                submodule = f"{target}.{alias.name}"
                yield (submodule if submodule in known else target), node.lineno


def library_graph() -> dict[str, set[str]]:
    files = sorted(LIBRARY.rglob("*.py"))
    known = {module_name(f) for f in files}
    graph: dict[str, set[str]] = {}
    for path in files:
        graph[module_name(path)] = {t for t, _ in imported_modules(path, known) if t in known and t != "shanty"}
        graph[module_name(path)] |= {"shanty"} & {t for t, _ in imported_modules(path, known)}
    return graph


def unit_of(module: str) -> str:
    parts = module.split(".")
    return "__init__" if len(parts) == 1 else parts[1]


def strongly_connected(graph: dict[str, set[str]]) -> list[list[str]]:
    """Tarjan's algorithm: the groups of modules that import each other in a circle."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(graph.get(node, ())):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.append(member)
                if member == node:
                    break
            if len(group) > 1:
                groups.append(sorted(group))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return groups


def test_the_library_has_no_import_cycles() -> None:
    graph = library_graph()
    assert len(graph) > 30  # the walk found the library
    assert strongly_connected(graph) == []


def test_a_cycle_is_found_when_there_is_one() -> None:
    # The checker itself can fail: a two-module circle and a self-contained chain.
    assert strongly_connected({"a": {"b"}, "b": {"a"}, "c": {"a"}}) == [["a", "b"]]
    assert strongly_connected({"a": {"b"}, "b": set()}) == []


def test_every_library_unit_has_a_layer() -> None:
    units = {unit_of(m) for m in library_graph()}
    assert units - set(LAYER_OF) == set(), "add the new module or family to LAYERS"


def test_arrows_point_down() -> None:
    upward = []
    for module, targets in library_graph().items():
        for target in targets:
            if target == "shanty" and module != "shanty":
                upward.append(f"{module} imports the package root 'shanty'")
            elif LAYER_OF[unit_of(target)] > LAYER_OF[unit_of(module)]:
                upward.append(f"{module} imports {target}")
    assert upward == []


@pytest.mark.parametrize("path", sorted(LIBRARY.rglob("*.py")), ids=lambda p: str(p.relative_to(REPO)))
def test_the_library_never_imports_a_web_framework(path: Path) -> None:
    found = [
        f"{target} (line {line})"
        for target, line in imported_modules(path, set())
        if target.split(".")[0] in UI_PACKAGES
    ]
    assert found == []


@pytest.mark.parametrize("path", sorted((REPO / "dashboard" / "views").glob("*.py")), ids=lambda p: p.name)
def test_views_use_the_public_library_and_the_dashboard_widgets(path: Path) -> None:
    # A view reads widgets, calls one library function and renders: it never reaches into library internals.
    found = [
        f"{target} (line {line})"
        for target, line in imported_modules(path, set())
        if target.startswith("shanty.") or target.startswith(("components", "views"))
    ]
    assert found == []


OPTIONAL = ("streamlit", "starlette", "av", "PIL", "boto3", "botocore", "google", "urllib3", "fsspec")
BARE_LIBRARY_SCRIPT = """
import sys

class Missing:  # as if only `pip install shanty` had run: the extras' packages cannot be imported
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in {optional!r}:
            raise ImportError(f"No module named {{name!r}} (blocked by the test)")

sys.meta_path.insert(0, Missing())
import pathlib, shanty
bucket = pathlib.Path("bucket")
bucket.mkdir()
for name in ("a", "b"):
    (bucket / f"{{name}}.wav").write_bytes(name.encode())
with shanty.init(project="p", root="registry") as run:
    artifact = shanty.Artifact("songs", type="raw_data")
    artifact.add_reference(str(bucket))
    table = shanty.Table(columns=["id", "audio"], data=[["a", shanty.Audio(str(bucket / "a.wav"))]])
    artifact.add(table, "t")
    logged = run.log_artifact(artifact)
result = shanty.run_query(shanty.Query(expression="id = 'a'"), {{"t": logged.table_file("t")}})
assert result.total_rows == 1, result
assert not set(sys.modules) & {optional!r}, sorted(set(sys.modules) & {optional!r})
print("bare library ok")
"""


def test_the_library_works_without_its_extras(tmp_path: Path) -> None:
    import subprocess
    import sys

    script = BARE_LIBRARY_SCRIPT.format(optional=set(OPTIONAL))
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=tmp_path, capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr
    assert "bare library ok" in done.stdout


def test_the_core_dependencies_leave_the_extras_out() -> None:
    import tomllib

    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    core = {re.split(r"[<>=\[ ]", d, maxsplit=1)[0].lower() for d in project["dependencies"]}
    assert core & {"streamlit", "av", "pillow", "boto3", "google-cloud-storage", "starlette", "uvicorn"} == set()
    assert {"dashboard", "s3", "gcs", "demo", "test"} <= set(project["optional-dependencies"])


@pytest.mark.parametrize(
    ("code", "message"),
    [
        ("shanty.Artifact('a', type='t').add_reference('s3://bucket/prefix')", "pip install 'shanty[s3]'"),
        ("shanty.Artifact('a', type='t').add_reference('gs://bucket/prefix')", "pip install 'shanty[gcs]'"),
        ("from shanty.cli import main; sys.exit(main(['--registry', 'r', 'demo', '--media', 'm']))", "shanty[demo]"),
    ],
)
def test_a_missing_extra_is_named_in_one_sentence(tmp_path: Path, code: str, message: str) -> None:
    import subprocess
    import sys

    blocker = BARE_LIBRARY_SCRIPT.split("import pathlib")[0].format(optional=set(OPTIONAL))
    script = f"{blocker}\nimport shanty\ntry:\n    {code}\nexcept shanty.ShantyError as exc:\n    print(exc)\n"
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=tmp_path, capture_output=True, text=True, timeout=120, check=False
    )
    assert message in done.stdout + done.stderr, done.stderr
    assert "Traceback" not in done.stderr
