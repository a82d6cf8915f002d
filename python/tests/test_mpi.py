"""The MPI recipe of docs/python.md (docs/examples/mpi_store.py) under
`mpirun -n 2`: both ranks commit their chunk rows, rank 0 verifies the
flushed file with h5py. Skipped, saying why, without Open MPI or mpi4py."""

import os
import shutil
import subprocess
import sys

import pytest

EXAMPLE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "docs", "examples",
                       "mpi_store.py")


def test_mpi_recipe_two_ranks(tmp_path):
    mpirun = shutil.which("mpirun")
    if mpirun is None:
        pytest.skip("mpirun not found: install openmpi-bin to run the MPI recipe test")
    pytest.importorskip("mpi4py", reason="mpi4py not installed (Debian python3-mpi4py)")
    cmd = [mpirun, "-n", "2", "--oversubscribe"]
    if os.geteuid() == 0:
        cmd.append("--allow-run-as-root")
    env = dict(os.environ, OMPI_MCA_rmaps_base_oversubscribe="1")
    p = subprocess.run(cmd + [sys.executable, EXAMPLE, str(tmp_path / "store")], capture_output=True,
                       text=True, timeout=240, env=env)
    assert p.returncode == 0, p.stdout + p.stderr
    assert "rank 0: committed 8 chunk rows" in p.stdout
    assert "rank 1: committed 8 chunk rows" in p.stdout
    assert "verified" in p.stdout
