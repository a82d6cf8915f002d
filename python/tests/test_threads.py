"""Python threads committing concurrently: every commit lands, and the GIL is
released while a call blocks (a commit waiting for the flusher lets another
Python thread run flush(); with the GIL held this would deadlock)."""

import threading

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


def test_blocked_commit_releases_the_gil(tmp_path):
    # Redo, no background flusher, at most one unflushed transaction: the
    # third commit blocks until another thread calls flush().
    with h5tx.Store.create(str(tmp_path / "s"), background_flusher=False, max_unflushed_transactions=1) as store:
        with store.begin() as tx:
            tx.create_file("g.h5")
            tx.create_dataset("g.h5", "/d", shape=(8, 1024), dtype="u1", chunks=(1, 1024))
        done = threading.Event()

        def committer():
            for i in range(8):
                with store.begin() as tx:
                    tx.dataset("g.h5", "/d")[i, :] = i
            done.set()

        t = threading.Thread(target=committer)
        t.start()
        flushes = 0
        while not done.wait(0.05):   # runs only because the blocked commit released the GIL
            store.flush()
            flushes += 1
        t.join()
        assert flushes >= 1
        assert store.stats()["pending_transactions"] <= 1
        with store.begin(read_only=True) as tx:
            assert [int(v) for v in tx.dataset("g.h5", "/d")[:, 0]] == list(range(8))
