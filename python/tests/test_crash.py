"""A crash (os._exit in a child process) in the middle of a transaction, and
right after a commit returned, in both modes: the next open recovers, the
committed transaction is all there, the interrupted one is not there at all
(checked through the API and with plain h5py after flush)."""

import h5py
import numpy as np
import pytest

import h5tx
from conftest import run_child

CHILD = """
import os, sys
import numpy as np
import h5tx
home, mode, when = sys.argv[1], sys.argv[2], sys.argv[3]
store = h5tx.Store.create(home, mode=mode, flush_delay=3600)   # nothing flushed by age
with store.begin() as tx:
    tx.create_file("c.h5")
    ds = tx.create_dataset("c.h5", "/d", shape=(64, 64), dtype="u2", chunks=(16, 16))
    ds[...] = 1
    tx.attrs("c.h5", "/d")["state"] = "first"
tx = store.begin()
ds = tx.dataset("c.h5", "/d")
ds[0:40, :] = 2
tx.attrs("c.h5", "/d")["state"] = "second"
del tx.attrs("c.h5", "/d")["state"]
tx.attrs("c.h5", "/")["second"] = 1
if when == "before-commit":
    os._exit(7)
tx.commit()
print("committed", flush=True)
os._exit(7)   # after commit returned, nothing flushed (redo: only in the journal)
"""


@pytest.mark.parametrize("when", ["before-commit", "after-commit"])
def test_crash_then_recovery(tmp_path, mode, when):
    home = tmp_path / "store"
    run_child(CHILD, home, mode, when, expect_status=7)
    committed = when == "after-commit"
    expect = np.ones((64, 64), "u2")
    if committed:
        expect[0:40, :] = 2
    with h5tx.Store.open(str(home)) as store:      # recovery
        with store.begin(read_only=True) as tx:
            np.testing.assert_array_equal(tx.dataset("c.h5", "/d")[...], expect)
            attrs = dict(tx.attrs("c.h5", "/d"))
            assert attrs == ({} if committed else {"state": "first"})
            assert ("second" in tx.attrs("c.h5")) == committed
        store.flush()
        path = store.data_path("c.h5")
    with h5py.File(path, "r") as f:                  # independently, after flush and close
        np.testing.assert_array_equal(f["d"][...], expect)
        assert ("state" in f["d"].attrs) != committed
        assert ("second" in f.attrs) == committed
