"""h5tx.dask on a real local cluster (distributed.LocalCluster, 2 worker
processes): round trips read back with h5py after flush, a worker SIGKILLed
mid-store and retried by Dask, an atomic store whose block raises (nothing
appears; a rerun succeeds), an interrupted resumable store resumed (every
chunk committed exactly once, counted by the store's own commit records),
the picklable Target with dask.array.store(lock=False), atomic stores
with compute=False (delayed objects computed later, composed with others,
failing), the per-block progress record on a store of many chunks (and the
older per-chunk record resumed), and the errors for bad input. The 256 MiB round trips are in test_dask_slow.py."""

import functools
import os
import pickle
import signal
import sys

import numpy as np
import pytest

import h5tx

dask = pytest.importorskip("dask")
distributed = pytest.importorskip("distributed")
import cloudpickle  # noqa: E402  (a dependency of distributed)
import dask.array as da  # noqa: E402
import h5py  # noqa: E402

import h5tx.dask as hd  # noqa: E402

# The workers cannot import this test module: ship its functions by value.
cloudpickle.register_pickle_by_value(sys.modules[__name__])


@pytest.fixture
def home(tmp_path):
    h = str(tmp_path / "store")
    h5tx.Store.create(h).close()
    return h


def source(shape=(64, 96), chunks=(16, 32), dtype="u4"):
    n = int(np.prod(shape))
    return da.arange(n, dtype=dtype, chunks=n).reshape(shape).rechunk(chunks)


def expected(shape=(64, 96), dtype="u4"):
    return np.arange(int(np.prod(shape)), dtype=dtype).reshape(shape)


def read_back(home, file="a.h5", path="/x"):
    """The dataset as h5py reads it from data/ once everything is flushed."""
    with h5tx.Store.open(home) as s:
        s.flush()
    with h5py.File(os.path.join(home, "data", file), "r") as f:
        return f[path][...]


def part_files(home):
    """Staged part files anywhere in the journal (spare _temp directories
    h5tx keeps for reuse hold none)."""
    j = os.path.join(home, "journal")
    return [os.path.join(d, f) for d in os.listdir(j) if os.path.isdir(os.path.join(j, d))
            for f in os.listdir(os.path.join(j, d)) if f.startswith("part-")]


@pytest.mark.parametrize("atomic", [False, True])
def test_round_trip(client, home, atomic):
    out = hd.store(source(), home, "a.h5", "/x", atomic=atomic)
    assert out["blocks"] == 12
    assert out["chunks_written"] == 12  # HDF5 chunks = the (16, 32) blocks
    assert out["transactions"] == (1 if atomic else 12)
    np.testing.assert_array_equal(read_back(home), expected())


def test_round_trip_compressed_edges_and_several_targets(client, home):
    # gzip + fletcher32, HDF5 chunks smaller than the blocks, edge chunks,
    # two targets in one call.
    x = source((50, 70), (20, 30), "i2")
    y = source((33,), (10,), "f8")
    hd.store([x, y], home, ["a.h5", "b.h5"], ["/g/x", "/y"], atomic=True, chunks=None,
             compression="gzip", fletcher32=True)
    np.testing.assert_array_equal(read_back(home, "a.h5", "/g/x"), expected((50, 70), "i2"))
    np.testing.assert_array_equal(read_back(home, "b.h5", "/y"), expected((33,), "f8"))
    with h5py.File(os.path.join(home, "data", "a.h5"), "r") as f:
        assert f["/g/x"].compression == "gzip"


def test_misaligned_blocks_are_rechunked(client, home):
    x = source((64, 96), (10, 96))  # 10-row blocks over 16-row HDF5 chunks
    out = hd.store(x, home, "a.h5", "/x", chunks=(16, 32))
    assert out["chunks_written"] == 12
    np.testing.assert_array_equal(read_back(home), expected())
    with h5py.File(os.path.join(home, "data", "a.h5"), "r") as f:
        assert f["/x"].chunks == (16, 32)


def test_compute_false_returns_a_delayed(client, home):
    d = hd.store(source(), home, "a.h5", "/x", compute=False)
    from dask.delayed import Delayed
    assert isinstance(d, Delayed)
    assert d.compute()["chunks_written"] == 12
    np.testing.assert_array_equal(read_back(home), expected())


def _kill_once(marker, offset, coords):
    """A test hook: SIGKILLs the worker process the first time it runs."""
    try:
        fd = os.open(marker, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
    except FileExistsError:
        return
    os.write(fd, repr((offset, coords)).encode())
    os.close(fd)
    os.kill(os.getpid(), signal.SIGKILL)


@pytest.mark.parametrize("atomic", [False, True])
def test_worker_killed_mid_store_is_retried_exactly(client, home, tmp_path, atomic):
    marker = str(tmp_path / "killed")
    x = source((64, 96), (32, 96))  # 2 blocks of 6 chunks each
    out = hd.store(x, home, "a.h5", "/x", atomic=atomic, chunks=(16, 32), chunks_per_transaction=1,
                   _hook=functools.partial(_kill_once, marker))
    assert os.path.exists(marker)  # a worker did die after its first chunk
    np.testing.assert_array_equal(read_back(home), expected())
    if atomic:
        assert out["transactions"] == 1 and out["chunks_written"] == 12
    else:
        # The killed attempt committed its first chunk; the retry skipped it.
        assert out["chunks_written"] + out["chunks_skipped"] == 12
        assert out["chunks_skipped"] == 1
        np.testing.assert_array_equal(hd.commit_counts(home, "a.h5", "/x"), np.ones((4, 3)))


def _fail_block(block, block_id=None, bad=None):
    if tuple(block_id) == tuple(bad):
        raise ValueError(f"block {block_id} cannot be computed")
    return block


def test_atomic_failure_leaves_nothing_and_rerun_succeeds(client, home):
    bad = source().map_blocks(_fail_block, bad=(2, 1), dtype="u4")
    with pytest.raises(ValueError, match="cannot be computed"):
        hd.store(bad, home, "a.h5", "/x", atomic=True)
    with h5tx.Store.open(home) as s:  # recovery removes whatever staging is left
        with s.begin(read_only=True) as tx:
            assert tx.list_files() == []
        s.flush()
    assert part_files(home) == []
    assert not os.path.exists(os.path.join(home, "data", "a.h5"))
    hd.store(source(), home, "a.h5", "/x", atomic=True)
    np.testing.assert_array_equal(read_back(home), expected())


def _fail_while(block, block_id=None, marker=None):
    if os.path.exists(marker) and block_id[0] >= 2:
        raise ValueError(f"interrupted at block {block_id}")
    return block


def _log_commits(log, offset, coords):
    """A test hook: one file per chunk committed, in every worker process."""
    import uuid
    for cc in coords:
        open(os.path.join(log, f"{'-'.join(map(str, cc))}.{uuid.uuid4().hex}"), "w").close()


def logged_commits(log, grid=(4, 3)):
    out = np.zeros(grid, int)
    for name in os.listdir(log):
        out[tuple(int(c) for c in name.split(".")[0].split("-"))] += 1
    return out


def test_resumable_interrupted_then_resumed_commits_each_chunk_once(client, home, tmp_path):
    marker = str(tmp_path / "interrupt")
    open(marker, "w").close()
    log = str(tmp_path / "commits")
    os.mkdir(log)
    hook = functools.partial(_log_commits, log)
    x = source().map_blocks(_fail_while, marker=marker, dtype="u4")
    with pytest.raises(ValueError, match="interrupted"):
        hd.store(x, home, "a.h5", "/x", _hook=hook)
    counts = hd.commit_counts(home, "a.h5", "/x")
    assert counts.max() <= 1 and counts[2:].sum() == 0  # rows 2.. never committed
    os.unlink(marker)
    # (Tasks of the failed store still running may commit meanwhile.)
    out = hd.store(x, home, "a.h5", "/x", resume=True, _hook=hook)
    assert out["chunks_written"] + out["chunks_skipped"] == 12
    assert out["chunks_skipped"] >= int(counts.sum())
    np.testing.assert_array_equal(logged_commits(log), np.ones((4, 3)))  # each chunk committed once
    np.testing.assert_array_equal(hd.commit_counts(home, "a.h5", "/x"), np.ones((4, 3)))
    np.testing.assert_array_equal(read_back(home), expected())
    # A complete store is not resumed: the next one writes everything again.
    out = hd.store(x * 2, home, "a.h5", "/x")
    assert out["chunks_written"] == 12
    np.testing.assert_array_equal(hd.commit_counts(home, "a.h5", "/x"), np.ones((4, 3)))
    np.testing.assert_array_equal(read_back(home), expected() * 2)


def test_target_is_picklable_and_works_with_dask_store(client, home):
    with h5tx.Store.open(home) as s, s.begin() as tx:
        tx.create_file("a.h5")
        tx.create_dataset("a.h5", "/x", shape=(64, 96), dtype="u4", chunks=(16, 32))
    t = hd.Target(home, "a.h5", "/x")
    t2 = pickle.loads(pickle.dumps(t))
    assert (t2.home, t2.file, t2.path) == (t.home, "a.h5", "/x")
    assert t2.shape == (64, 96) and t2.dtype == np.dtype("<u4")
    da.store(source((64, 96), (20, 40)), t, lock=False)  # regions not aligned to chunks
    np.testing.assert_array_equal(read_back(home), expected())


def test_bad_input_is_refused_before_any_task(tmp_path, home):
    x = source()
    with h5tx.Store.open(home) as s, s.begin() as tx:
        tx.create_file("a.h5")
        tx.create_dataset("a.h5", "/x", shape=(64, 96), dtype="u4", chunks=(16, 32))
    with pytest.raises(h5tx.InvalidArgumentError, match="shape"):
        hd.store(source((64, 95), (16, 32)), home, "a.h5", "/x")
    with pytest.raises(h5tx.InvalidArgumentError, match="dtype"):
        hd.store(source(dtype="f4"), home, "a.h5", "/x")
    with pytest.raises(h5tx.InvalidArgumentError, match="chunks"):
        hd.store(x, home, "a.h5", "/x", chunks=(8, 8))
    with pytest.raises(h5tx.NotFoundError, match="no such dataset"):
        hd.store(x, home, "a.h5", "/y", create=False)
    with pytest.raises(h5tx.NotFoundError, match="every worker sees"):
        hd.store(x, str(tmp_path / "nowhere"), "a.h5", "/x")
    with pytest.raises(h5tx.InvalidArgumentError, match="element types"):
        hd.store(x.astype("c8"), home, "a.h5", "/c")
    undo = str(tmp_path / "undo")
    h5tx.Store.create(undo, mode="undo").close()
    with pytest.raises(h5tx.UnsupportedError, match="undo mode"):
        hd.store(x, undo, "a.h5", "/x")
    # Nothing was written by the refused calls.
    with h5tx.Store.open(home) as s, s.begin(read_only=True) as tx:
        assert tx.list_datasets("a.h5") == ["/x"]
        assert tx.dataset("a.h5", "/x")[0, 0] == 0


def test_staged_writer_from_another_process_killed_client(home, tmp_path):
    """The staging protocol without Dask, with real processes: a client
    SIGKILLed before commit leaves nothing (the next open removes the
    staging directory); one killed right after commit keeps everything."""
    from conftest import run_child
    for commit in (False, True):
        h = str(tmp_path / f"s{commit}")
        with h5tx.Store.create(h) as s, s.begin() as tx:
            tx.create_file("a.h5")
            tx.create_dataset("a.h5", "/x", shape=(8, 8), dtype="u2", chunks=(4, 8))
        p = run_child(f"""
            import os, signal, subprocess, sys, numpy as np, h5tx
            s = h5tx.Store.open({h!r})
            tx = s.begin()
            token = tx.stage()
            open(os.path.join({h!r}, "..", "token{commit}"), "w").write(token)
            spec = tx.dataset("a.h5", "/x").spec
            writer = '''
            import sys, numpy as np, h5tx
            w = h5tx.StagedWriter(sys.argv[1])
            spec = eval(sys.argv[2])
            for r in range(2):
                w.write_chunk("a.h5", "/x", spec, (r, 0), np.full((4, 8), r + 7, "<u2"))
            print(repr(w.finish()))
            '''
            import textwrap
            out = subprocess.run([sys.executable, "-c", textwrap.dedent(writer), token, repr(spec)],
                                 check=True, capture_output=True, text=True).stdout
            tx.adopt(eval(out))
            if {commit!r}:
                tx.commit()
            os.kill(os.getpid(), signal.SIGKILL)
        """)
        assert p.returncode == -signal.SIGKILL, p.stderr
        token_dir = open(os.path.join(h, "..", f"token{commit}")).read().split(":", 1)[1]
        assert os.path.isdir(token_dir) == (not commit)  # the commit renamed it to _done
        with h5tx.Store.open(h) as s:
            assert not os.path.exists(token_dir)
            with s.begin(read_only=True) as tx:
                got = tx.dataset("a.h5", "/x")[...]
        want = np.repeat(np.array([7, 8], "<u2"), 4)[:, None] * np.ones((1, 8), "<u2") if commit else 0
        np.testing.assert_array_equal(got, np.broadcast_to(want, (8, 8)))


def staging_dirs(home):
    """_temp directories holding part files (staging directories in use or abandoned)."""
    return sorted({os.path.dirname(f) for f in part_files(home)})


def test_atomic_compute_false_delayed_computed_later_with_other_delayeds(client, home):
    d = hd.store(source(), home, "a.h5", "/x", atomic=True, compute=False)
    other = hd.store(source() + 1, home, "b.h5", "/y", compute=False)  # a resumable store beside it
    # Nothing is visible before the delayed object is computed.
    with h5tx.Store.open(home) as s, s.begin(read_only=True) as tx:
        assert "a.h5" not in tx.list_files()
    total = dask.delayed(sum)([1, 2, 3])
    got, got_other, six = dask.compute(d, other, total)
    assert six == 6
    assert got == {"blocks": 12, "chunks_written": 12, "chunks_skipped": 0, "transactions": 1}
    assert got_other["chunks_written"] == 12
    np.testing.assert_array_equal(read_back(home), expected())
    np.testing.assert_array_equal(read_back(home, "b.h5", "/y"), expected() + 1)
    assert part_files(home) == []  # flushed: the staged transaction's parts went with it


def test_atomic_compute_false_block_failure_leaves_nothing_and_rerun_succeeds(client, home):
    bad = source().map_blocks(_fail_block, bad=(1, 2), dtype="u4")
    d = hd.store(bad, home, "a.h5", "/x", atomic=True, compute=False)
    try:
        dask.compute(d)
        raise AssertionError("the store did not fail")
    except ValueError as e:
        assert "cannot be computed" in str(e)
    # Parts of the blocks that did run are staged, and nothing is visible.
    with h5tx.Store.open(home) as s, s.begin(read_only=True) as tx:
        assert tx.list_files() == []
    assert len(staging_dirs(home)) == 1
    # Releasing the delayed object lets go of the staging directory: the
    # next open (alone) removes it. (Dropping it does too, once nothing
    # refers to it: distributed may keep the failed call's traceback.)
    d.release()
    d.release()
    with h5tx.Store.open(home) as s:
        assert staging_dirs(home) == []
        with s.begin(read_only=True) as tx:
            assert tx.list_files() == []
    assert not os.path.exists(os.path.join(home, "data", "a.h5"))
    d = hd.store(source(), home, "a.h5", "/x", atomic=True, compute=False)
    assert dask.compute(d)[0]["chunks_written"] == 12
    np.testing.assert_array_equal(read_back(home), expected())


def test_atomic_compute_false_dropped_uncomputed_leaves_nothing(home):
    d = hd.store(source(), home, "a.h5", "/x", atomic=True, compute=False)
    stage_dir = d._holder.dir
    with h5tx.Store.open(home):  # the client holds the store: no recovery
        assert os.path.isdir(stage_dir)
    del d
    import gc
    gc.collect()
    with h5tx.Store.open(home) as s, s.begin(read_only=True) as tx:
        assert not os.path.exists(stage_dir)
        assert tx.list_files() == []


def test_atomic_final_task_retried_after_its_commit_reports_success(home):
    """The final task of an atomic store whose worker died after the commit
    is run again by Dask: it finds its staging directory taken over, and its
    own id in the store's marker, and reports success."""
    with h5tx.Store.open(home) as s:
        with s.begin() as tx:
            tx.create_file("a.h5")
            spec = tx.create_dataset("a.h5", "/x", shape=(8, 8), dtype="u2", chunks=(4, 8)).spec
            tx.abort()
        token = s.stage()
        w = h5tx.StagedWriter(token)
        w.write_chunk("a.h5", "/x", spec, (1, 0), np.full((4, 8), 5, "<u2"))
        parts = [w.finish()]
        targets = [("a.h5", "/x", spec)]
        first = hd._commit_staged(parts, home, token, targets, 1, 10)
        again = hd._commit_staged(parts, home, token, targets, 1, 10)
        assert first == again == {"blocks": 1, "chunks_written": 1, "chunks_skipped": 0, "transactions": 1}
        # Another store's token, taken over by nobody and gone: a failure.
        other = s.stage()
        os.rmdir(other.split(":", 1)[1])
        with pytest.raises(h5tx.NotFoundError, match="staging directory is gone"):
            hd._commit_staged([], home, other, targets, 0, 10)
        with s.begin(read_only=True) as tx:
            got = tx.dataset("a.h5", "/x")[...]
    np.testing.assert_array_equal(got, np.repeat([0, 5], 4)[:, None] * np.ones((1, 8), "<u2"))


def test_resumable_record_has_one_element_per_block_on_many_chunks(client, home):
    n, chunk, block = 40000, 4, 4000  # 10000 HDF5 chunks in 10 blocks
    x = da.arange(n, dtype="u2", chunks=block)
    out = hd.store(x, home, "a.h5", "/x", chunks=(chunk,))
    assert out == {"blocks": 10, "chunks_written": 10000, "chunks_skipped": 0, "transactions": 10}
    np.testing.assert_array_equal(read_back(home), np.arange(n, dtype="u2"))
    rec = hd.progress_path("a.h5", "/x", x.chunks)
    with h5py.File(os.path.join(home, "data", hd.RECORD_FILE), "r") as f:
        assert f[rec].shape == (10,)
        assert f[rec].id.get_num_chunks() == 10  # the old per-chunk record stored 10000
        assert f[rec].attrs["state"] == "complete"
    np.testing.assert_array_equal(hd.commit_counts(home, "a.h5", "/x"), np.ones(10000))
    # A new store into it starts a new run: nothing of the record is rewritten.
    out = hd.store(x[::-1], home, "a.h5", "/x")
    assert out["chunks_written"] == 10000
    np.testing.assert_array_equal(read_back(home), np.arange(n, dtype="u2")[::-1])


def _old_record(home, flagged, fill):
    """A resumable store interrupted under the per-chunk record of earlier
    h5tx versions: the flagged chunks of a.h5:/x committed (with `fill`)."""
    with h5tx.Store.open(home) as s, s.begin() as tx:
        tx.create_file("a.h5")
        tx.create_dataset("a.h5", "/x", shape=(64, 96), dtype="u4", chunks=(16, 32))
        tx.create_file(hd.RECORD_FILE)
        rec = hd.record_path("a.h5", "/x")
        tx.create_dataset(hd.RECORD_FILE, rec, shape=(4, 3), dtype="<u4", chunks=(1, 1))
        tx.attrs(hd.RECORD_FILE, rec)["target"] = "a.h5:/x"
        tx.attrs(hd.RECORD_FILE, rec)["state"] = "running"
        for cc in flagged:
            tx.write_chunk("a.h5", "/x", cc, np.full((16, 32), fill, "<u4"))
            tx.write_chunk(hd.RECORD_FILE, rec, cc, np.ones(1, "<u4"))


def test_resume_of_a_store_interrupted_under_the_older_per_chunk_record(client, home, tmp_path):
    # Blocks of 2x3 chunks; the first block committed its first 4 chunks.
    flagged = [(0, 0), (0, 1), (0, 2), (1, 0)]
    _old_record(home, flagged, 999)
    np.testing.assert_array_equal(hd.commit_counts(home, "a.h5", "/x").sum(), 4)  # still readable
    out = hd.store(source((64, 96), (32, 96)), home, "a.h5", "/x", resume=True)
    assert out["chunks_skipped"] == 4 and out["chunks_written"] == 8
    want = expected()
    for r, c in flagged:
        want[r * 16:(r + 1) * 16, c * 32:(c + 1) * 32] = 999  # skipped: committed before
    np.testing.assert_array_equal(read_back(home), want)
    np.testing.assert_array_equal(hd.commit_counts(home, "a.h5", "/x"), np.ones((4, 3)))
    # Chunks committed out of the new blocks' order: a clear error.
    other = str(tmp_path / "other")
    h5tx.Store.create(other).close()
    _old_record(other, [(0, 1)], 999)
    with pytest.raises(h5tx.InvalidArgumentError, match="out of order"):
        hd.store(source((64, 96), (32, 96)), other, "a.h5", "/x", resume=True)
    # Another split into blocks than an interrupted store's: a clear error.
    x = source().map_blocks(_fail_while, marker=__file__, dtype="u4")
    with pytest.raises(ValueError, match="interrupted"):
        hd.store(x, home, "a.h5", "/x")
    with pytest.raises(h5tx.InvalidArgumentError, match="other blocks"):
        hd.store(source((64, 96), (32, 96)), home, "a.h5", "/x", resume=True)
