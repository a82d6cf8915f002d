"""docs/examples/ingest.py, the Python example of docs/python.md, runs and verifies."""

import os
import subprocess
import sys

EXAMPLE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "docs", "examples", "ingest.py")


def test_ingest_example(tmp_path):
    p = subprocess.run([sys.executable, EXAMPLE, str(tmp_path / "store")], capture_output=True, text=True,
                       timeout=300)
    assert p.returncode == 0, p.stdout + p.stderr
    assert "verified" in p.stdout
    assert p.stdout.count("committed planes") == 4


def test_package_imports_from_the_build_tree():
    # What the README's PYTHONPATH gives: the package with its compiled module.
    import h5tx
    assert os.path.basename(os.path.dirname(h5tx._lib.__file__)) == "h5tx"
    assert h5tx.version() == h5tx.__version__
