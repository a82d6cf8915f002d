"""Shared fixtures of the h5tx pytest suite (run by CTest, label python:
PYTHONPATH points at the build tree's package)."""

import os
import subprocess
import sys
import textwrap

import pytest

import h5tx


@pytest.fixture(params=["redo", "undo"])
def mode(request):
    """Both store modes."""
    return request.param


@pytest.fixture
def store(tmp_path, mode):
    """A new store of each mode, closed after the test."""
    s = h5tx.Store.create(str(tmp_path / "store"), mode=mode)
    yield s
    s.close()


@pytest.fixture(scope="module")
def client():
    """A Dask cluster of 2 worker processes (one thread each) on this
    machine, and its client, shared by the tests of one module."""
    distributed = pytest.importorskip("distributed")
    cluster = distributed.LocalCluster(processes=True, n_workers=2, threads_per_worker=1,
                                       dashboard_address=None, silence_logs=50)
    c = distributed.Client(cluster)
    yield c
    c.close()
    cluster.close()


def run_child(code: str, *args, expect_status=None, timeout=120):
    """Runs `code` in a fresh interpreter (the same one, same PYTHONPATH);
    returns the CompletedProcess. `expect_status`: the exit status required."""
    p = subprocess.run([sys.executable, "-c", textwrap.dedent(code), *map(str, args)],
                       capture_output=True, text=True, timeout=timeout, env=dict(os.environ))
    if expect_status is not None:
        assert p.returncode == expect_status, f"child exited {p.returncode}\n{p.stdout}\n{p.stderr}"
    return p
