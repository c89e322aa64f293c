"""shanty enrich on Ray: a local Ray (2 CPUs) gives the very table the single-process loop gives."""

from __future__ import annotations

import pyarrow.parquet as pq
import pytest

import shanty
from tests.test_enrich import _log_source, _media

ray = pytest.importorskip("ray", reason="the ray extra is not installed (pip install 'shanty[ray]')")


@pytest.fixture(scope="module")
def local_ray():
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield
    ray.shutdown()


def test_ray_and_the_loop_give_identical_rows(local_ray, file_kit, tmp_path, monkeypatch) -> None:
    root = str(tmp_path / "registry")
    bucket = file_kit.new_bucket()
    _media(file_kit, bucket)
    version = _log_source(root, bucket)
    serial = shanty.enrich(version, runner="serial")
    monkeypatch.setenv("SHANTY_CACHE", str(tmp_path / "ray-cache"))  # measured afresh on Ray, not read back
    on_ray = shanty.enrich(version, runner="ray")
    assert (on_ray.measured, on_ray.failed) == (4, {})
    assert on_ray.version.version == serial.version.version  # identical contents: the same version
    left = pq.read_table(serial.version.table_file("clips")).to_pylist()
    right = pq.read_table(on_ray.version.table_file("clips")).to_pylist()
    assert left == right
