"""Cold start: ``import shanty`` and ``shanty --help`` load no heavy dependency, and the lazy root still
exports every public name (issue 16 item 3; the speed itself is measured by bench/bench_cold_start.py).

Each check runs in a fresh interpreter: in this test process pandas and the rest are long loaded.
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

import shanty

REPO = Path(__file__).resolve().parent.parent

# Top-level packages that cost tens to hundreds of milliseconds to import, or belong to an extra.
HEAVY = ("pandas", "pyarrow", "duckdb", "numpy", "boto3", "botocore", "google", "av", "streamlit", "tqdm", "PIL")

LOADED_AFTER = """
import json, sys
{code}
print(json.dumps(sorted(m for m in sys.modules if m.split(".")[0] in {heavy!r})))
"""


def heavy_modules_after(code: str) -> list[str]:
    """The heavy modules a fresh interpreter holds after running ``code``."""
    script = LOADED_AFTER.format(code=code, heavy=set(HEAVY))
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=REPO, capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_import_shanty_loads_nothing_heavy() -> None:
    assert heavy_modules_after("import shanty") == []


def test_shanty_help_loads_nothing_heavy() -> None:
    # The console script is `shanty.cli:main`; --help exits through SystemExit(0) after printing.
    code = (
        "import contextlib, io\n"
        "from shanty.cli import main\n"
        "with contextlib.redirect_stdout(io.StringIO()) as out:\n"
        "    try:\n"
        "        main(['--help'])\n"
        "    except SystemExit as exc:\n"
        "        assert exc.code == 0, exc.code\n"
        "assert 'doctor' in out.getvalue() and 'ref' in out.getvalue(), out.getvalue()\n"
    )
    assert heavy_modules_after(code) == []


def test_a_subcommand_help_loads_nothing_heavy() -> None:
    code = "from shanty.cli import main\ntry:\n    main(['ref', 'add', '--help'])\nexcept SystemExit:\n    pass\n"
    assert heavy_modules_after(code) == []


def test_the_check_sees_a_heavy_import() -> None:
    # The checker itself can fail: using a name that needs pyarrow loads pyarrow.
    assert "pyarrow" in heavy_modules_after("import shanty\nshanty.Table")


@pytest.mark.parametrize("name", shanty.__all__)
def test_every_exported_name_resolves(name: str) -> None:
    assert getattr(shanty, name) is not None
    assert name in dir(shanty)


def test_from_import_and_submodule_attributes_work_in_a_fresh_interpreter() -> None:
    code = (
        "import shanty\n"
        "from shanty import Artifact, ShantyError, init\n"
        "assert shanty.Artifact is Artifact and shanty.init is init\n"
        "assert shanty.errors.ShantyError is ShantyError\n"  # a submodule reached as an attribute
        "assert shanty.storage.__name__ == 'shanty.storage'\n"
        "assert shanty.run is None\n"  # no active run: computed on access, never cached
        "try:\n"
        "    shanty.no_such_name\n"
        "except AttributeError as exc:\n"
        "    assert 'no_such_name' in str(exc)\n"
        "else:\n"
        "    raise AssertionError('an unknown name resolved')\n"
    )
    assert "pyarrow" in heavy_modules_after(code)  # Artifact needs it: the names are real, not placeholders


def test_the_lazy_table_matches_the_type_checking_imports() -> None:
    # The root names each export twice: in TYPE_CHECKING imports (for editors) and in the lazy table.
    tree = ast.parse((REPO / "shanty" / "__init__.py").read_text())
    guarded = next(n for n in tree.body if isinstance(n, ast.If) and ast.unparse(n.test) == "TYPE_CHECKING")
    imported = {
        alias.name: node.module for node in guarded.body if isinstance(node, ast.ImportFrom) for alias in node.names
    }
    assert imported == shanty._MODULE_OF
    assert set(shanty.__all__) == set(imported) | {"__version__"}
