"""Python threads committing concurrently: every commit lands, and the GIL is
released while a call blocks (a begin() waiting for undo mode's writer slot
lets the thread holding the slot run Python and commit; with the GIL held
this would deadlock)."""

import threading
import time

import numpy as np
import pytest

import h5tx


def test_threads_commit_concurrently(tmp_path, mode):
    threads, per_thread = 4, 12
    with h5tx.Store.create(str(tmp_path / "s"), mode=mode) as store:
        with store.begin() as tx:
            tx.create_file("t.h5")
            tx.create_dataset("t.h5", "/d", shape=(threads * per_thread, 256), dtype="i4", chunks=(1, 256))
        errors = []

        def worker(w):
            try:
                for i in range(per_thread):
                    row = w * per_thread + i
                    # undo mode has one writer at a time: the others wait for the slot
                    with store.begin(timeout=60) as tx:
                        tx.dataset("t.h5", "/d")[row, :] = np.full(256, row, "i4")
            except BaseException as e:  # noqa: BLE001 - reported below
                errors.append(e)

        ts = [threading.Thread(target=worker, args=(w,)) for w in range(threads)]
        for t in ts:
            t.start()
        for t in ts:
            t.join(120)
        assert not errors, errors
        with store.begin(read_only=True) as tx:
            data = tx.dataset("t.h5", "/d")[...]
        np.testing.assert_array_equal(data, np.repeat(np.arange(threads * per_thread, dtype="i4")[:, None], 256, 1))


def test_blocked_begin_releases_the_gil(tmp_path):
    # Undo mode has one writer: a second begin() waits for the slot. While it
    # waits, this thread must still run Python (and end the first writer);
    # with the GIL held by the waiting thread it could not, and would hang.
    with h5tx.Store.create(str(tmp_path / "s"), mode="undo") as store:
        with store.begin() as tx:
            tx.create_file("g.h5")
            tx.create_dataset("g.h5", "/d", shape=(2, 1024), dtype="u1", chunks=(1, 1024))
        first = store.begin()
        started, got = threading.Event(), threading.Event()

        def second():
            started.set()
            with store.begin(timeout=60) as tx:     # blocks until `first` ends
                tx.dataset("g.h5", "/d")[1, :] = 2
            got.set()

        t = threading.Thread(target=second)
        t.start()
        started.wait(30)
        time.sleep(0.3)
        assert not got.is_set()                    # still waiting for the writer slot
        first.dataset("g.h5", "/d")[0, :] = 1      # Python runs meanwhile
        first.commit()
        t.join(60)
        assert got.is_set()
        with store.begin(read_only=True) as tx:
            assert tx.dataset("g.h5", "/d")[:, 0].tolist() == [1, 2]
