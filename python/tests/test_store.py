"""The Store API with NumPy, in both modes: transactions, context managers,
conflicts, savepoints, attributes, every dtype, slicing, bad input; data
read back independently with h5py after flush()."""

import h5py
import numpy as np
import pytest

import h5tx

ALL_DTYPES = ["u1", "u2", "u4", "u8", "i1", "i2", "i4", "i8", "f4", "f8"]


def h5py_read(store, file, path):
    store.flush()
    with h5py.File(store.data_path(file), "r") as f:
        return f[path][...], dict(f[path].attrs)


def test_commit_abort_and_context_managers(store):
    with store.begin() as tx:
        tx.create_file("v.h5")
        ds = tx.create_dataset("v.h5", "/raw/a", shape=(40, 30), dtype="u2", chunks=(16, 16))
        ds[...] = np.arange(1200, dtype="u2").reshape(40, 30)
    assert not tx.active
    # explicit commit / abort
    tx = store.begin()
    tx.dataset("v.h5", "/raw/a")[0, :] = 7
    tx.commit()
    tx = store.begin()
    tx.dataset("v.h5", "/raw/a")[1, :] = 9
    tx.abort()
    # an exception in the block aborts and propagates
    with pytest.raises(RuntimeError, match="boom"):
        with store.begin() as tx:
            tx.dataset("v.h5", "/raw/a")[2, :] = 11
            raise RuntimeError("boom")
    assert not tx.active
    expect = np.arange(1200, dtype="u2").reshape(40, 30)
    expect[0, :] = 7
    with store.begin(read_only=True) as tx:
        np.testing.assert_array_equal(tx.dataset("v.h5", "/raw/a")[...], expect)
    data, _ = h5py_read(store, "v.h5", "/raw/a")
    np.testing.assert_array_equal(data, expect)


@pytest.mark.parametrize("dt", ALL_DTYPES)
def test_every_dtype_round_trips_and_reads_with_h5py(tmp_path, mode, dt):
    with h5tx.Store.create(str(tmp_path / "s"), mode=mode) as store:
        info = np.iinfo(dt) if np.dtype(dt).kind in "iu" else np.finfo(dt)
        a = np.linspace(info.min / 2, info.max / 2, 5 * 7 * 3).astype(dt).reshape(5, 7, 3)
        with store.begin() as tx:
            tx.create_file("t.h5")
            ds = tx.create_dataset("t.h5", "/d", shape=a.shape, dtype=dt, chunks=(2, 3, 3),
                                   compression="gzip", compression_opts=6, fletcher32=True, fillvalue=3)
            assert ds.dtype == np.dtype(dt) and ds.chunks == (2, 3, 3) and ds.compression == "gzip"
            ds[...] = a
            tx.attrs("t.h5", "/d")["v"] = a.reshape(-1)[:4]
        with store.begin(read_only=True) as tx:
            np.testing.assert_array_equal(tx.dataset("t.h5", "/d")[...], a)
            np.testing.assert_array_equal(tx.attrs("t.h5", "/d")["v"], a.reshape(-1)[:4])
        data, attrs = h5py_read(store, "t.h5", "/d")
        assert data.dtype == np.dtype(dt)
        np.testing.assert_array_equal(data, a)
        np.testing.assert_array_equal(attrs["v"], a.reshape(-1)[:4])


def test_slicing_like_numpy(store):
    a = np.arange(20 * 12 * 6, dtype="i4").reshape(20, 12, 6)
    with store.begin() as tx:
        tx.create_file("s.h5")
        ds = tx.create_dataset("s.h5", "/x", data=a, chunks=(8, 5, 4))
        for key in [np.s_[...], np.s_[3], np.s_[-1], np.s_[2:9, :, 5], np.s_[::3, 1:11:4, ::5],
                    np.s_[5:5], np.s_[..., 2], np.s_[1, 2, 3], np.s_[15:100]]:
            np.testing.assert_array_equal(ds[key], a[key], err_msg=str(key))
        b = a.copy()
        ds[0:8, :, 5] = 100           # scalar broadcast
        b[0:8, :, 5] = 100
        ds[10, 1:4, :] = np.arange(6, dtype="i4")  # row broadcast
        b[10, 1:4, :] = np.arange(6)
        ds[1::7, ::2, 1] = -np.ones((3, 6), "i4")  # strided write
        b[1::7, ::2, 1] = -1
        ds[19, 11] = [1, 2, 3, 4, 5, 6]           # list, converted
        b[19, 11] = [1, 2, 3, 4, 5, 6]
        np.testing.assert_array_equal(ds[...], b)
        np.testing.assert_array_equal(np.asarray(ds), b)
        assert len(ds) == 20 and ds.ndim == 3 and ds.size == a.size
    data, _ = h5py_read(store, "s.h5", "/x")
    np.testing.assert_array_equal(data, b)


def test_chunks_extend_and_metadata(store):
    with store.begin() as tx:
        tx.create_file("c.h5")
        ds = tx.create_dataset("c.h5", "/c", shape=(8, 8), maxshape=(None, 8), dtype="f4", chunks=(4, 4),
                               fillvalue=1.5)
        assert ds.maxshape == (None, 8)
        chunk = np.full((4, 4), 2.5, "f4")
        tx.write_chunk("c.h5", "/c", (1, 1), chunk)
        tx.write_chunk("c.h5", "/c", (0, 1), chunk.tobytes())   # raw bytes too
        np.testing.assert_array_equal(tx.read_chunk("c.h5", "/c", (1, 1)), chunk)
        np.testing.assert_array_equal(tx.read_chunk("c.h5", "/c", (0, 0)), np.full((4, 4), 1.5, "f4"))
        tx.extend_dataset("c.h5", "/c", (12, 8))
        assert ds.shape == (12, 8)
        ds[10:12, :] = np.zeros((2, 8), "f4")
        tx.set_message("chunks")
        tx.set_metadata("k", "v")
    assert tx.txid > 0
    if store.mode == "redo":
        info = [p for p in store.pending() if p["txid"] == tx.txid]
        if info:  # not yet flushed by the background flusher
            assert info[0]["message"] == "chunks" and info[0]["metadata"] == {"k": "v"}
    stats = store.stats()
    assert stats["last_txid"] >= 0 and "flusher_state" in stats
    data, _ = h5py_read(store, "c.h5", "/c")
    assert data.shape == (12, 8)
    assert data[5, 5] == 2.5 and data[0, 0] == 1.5 and data[11, 0] == 0
    with store.begin(read_only=True) as tx:
        assert tx.list_files() == ["c.h5"]
        assert tx.list_datasets("c.h5") == ["/c"]


@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
def test_savepoints_and_on_abort(store):
    undone = []
    with store.begin() as tx:
        tx.create_file("p.h5")
        ds = tx.create_dataset("p.h5", "/d", shape=(4,), dtype="u1", chunks=(4,))
        ds[...] = 1
        sp = tx.savepoint()
        ds[...] = 2
        tx.attrs("p.h5", "/d")["later"] = 1
        tx.rollback_to(sp)
        assert list(ds[...]) == [1, 1, 1, 1]
        assert "later" not in tx.attrs("p.h5", "/d")
        sp2 = tx.savepoint()
        ds[0] = 3
        tx.release(sp2)
        with pytest.raises(h5tx.StateError):
            tx.rollback_to(sp2)
    with store.begin(read_only=True) as tx:
        assert list(tx.dataset("p.h5", "/d")[...]) == [3, 1, 1, 1]
    tx = store.begin()
    tx.on_abort(lambda: undone.append("first"))
    tx.on_abort(lambda: undone.append("second"))
    tx.abort()
    assert undone == ["second", "first"]
    # a failing hook does not break the abort
    tx = store.begin()
    tx.on_abort(lambda: 1 / 0)
    tx.abort()
    assert not tx.active


def test_attributes_mapping(store):
    with store.begin() as tx:
        tx.create_file("a.h5")
        tx.create_dataset("a.h5", "/g/d", shape=(2,), dtype="u1", chunks=(2,))
        root, grp, dsa = tx.attrs("a.h5"), tx.attrs("a.h5", "/g"), tx.dataset("a.h5", "/g/d").attrs
        root["title"] = "run 7"
        root["bytes"] = b"utf8 \xc3\xa9".decode() .encode()
        grp["n"] = 640
        dsa["gain"] = np.float32(1.5)
        dsa["offsets"] = [1, -2, 3]
        dsa["gone"] = 1
        del dsa["gone"]
        with pytest.raises(KeyError):
            dsa["gone"]
        with pytest.raises(KeyError):
            del dsa["gone"]
        assert dsa.get("gone", "default") == "default"
    with store.begin() as tx:
        dsa = tx.attrs("a.h5", "/g/d")
        assert sorted(dsa) == ["gain", "offsets"] and len(dsa) == 2
        assert isinstance(dsa["gain"], np.float32) and dsa["gain"] == 1.5
        np.testing.assert_array_equal(dsa["offsets"], [1, -2, 3])
        assert dsa["offsets"].dtype == np.int64
        assert tx.attrs("a.h5", "/g")["n"] == 640
        assert tx.attrs("a.h5")["title"] == "run 7"
        assert tx.attrs("a.h5")["bytes"] == "utf8 é"
        with pytest.raises(h5tx.NotFoundError):
            tx.attrs("a.h5", "/nope")
        with pytest.raises(h5tx.InvalidArgumentError):
            dsa["bad"] = np.zeros((2, 2))
        with pytest.raises(h5tx.InvalidArgumentError):
            dsa["bad"] = {"a": 1}
    store.flush()
    with h5py.File(store.data_path("a.h5"), "r") as f:
        assert f.attrs["title"] == "run 7"
        assert f["g"].attrs["n"] == 640
        assert f["g/d"].attrs["gain"] == np.float32(1.5)
        assert "gone" not in f["g/d"].attrs


def test_conflict_or_busy_between_two_transactions(store):
    with store.begin() as tx:
        tx.create_file("k.h5")
        tx.create_dataset("k.h5", "/d", shape=(8,), dtype="u4", chunks=(4,))
    if store.mode == "redo":
        t1, t2 = store.begin(), store.begin()
        t1.dataset("k.h5", "/d")[0:4] = 1
        t2.dataset("k.h5", "/d")[0:2] = 2
        t1.commit()
        with pytest.raises(h5tx.ConflictError) as e:
            t2.commit()
        assert isinstance(e.value, h5tx.Error) and e.value.code == "conflict" and e.value.path
        assert not t2.active
        with store.begin(read_only=True) as tx:
            assert list(tx.dataset("k.h5", "/d")[0:4]) == [1, 1, 1, 1]
        # blind writes: last committer wins
        t1, t2 = store.begin(check_conflicts=False), store.begin(check_conflicts=False)
        t1.dataset("k.h5", "/d")[0:4] = 5
        t2.dataset("k.h5", "/d")[0:4] = 6
        t1.commit()
        t2.commit()
    else:
        t1 = store.begin()
        with pytest.raises(h5tx.BusyError):
            store.begin(timeout=0)
        t1.abort()


def test_bad_input_raises_never_crashes(store, mode):
    with store.begin() as tx:
        tx.create_file("b.h5")
        ds = tx.create_dataset("b.h5", "/d", shape=(10, 10), dtype="u2", chunks=(4, 4))
        with pytest.raises(h5tx.InvalidArgumentError, match="dtype float64"):
            ds[...] = np.zeros((10, 10))
        with pytest.raises(h5tx.InvalidArgumentError, match="shape"):
            ds[0:2, :] = np.zeros((3, 10), "u2")
        with pytest.raises(IndexError):
            ds[10, 0]
        with pytest.raises(IndexError):
            ds[0, 0, 0]
        with pytest.raises(h5tx.InvalidArgumentError, match="does not fit"):
            ds[0, 0] = 70000
        with pytest.raises(h5tx.InvalidArgumentError):
            ds[0:9, :] = np.zeros((10, 10), "u2")
        with pytest.raises(h5tx.InvalidArgumentError, match="step"):
            ds[::-1]
        with pytest.raises(TypeError):
            ds["x"]
        with pytest.raises(h5tx.InvalidArgumentError):
            tx.write_chunk("b.h5", "/d", (0, 0), b"short")
        with pytest.raises(h5tx.InvalidArgumentError):
            tx.write_chunk("b.h5", "/d", (3, 0), np.zeros((4, 4), "u2"))
        with pytest.raises(h5tx.InvalidArgumentError):
            tx.write_chunk("b.h5", "/d", (0, 0), np.zeros((4, 4), "i2"))
        with pytest.raises(h5tx.InvalidArgumentError):
            tx.create_dataset("b.h5", "/e", shape=(4,), dtype="c8", chunks=(4,))
        with pytest.raises(h5tx.InvalidArgumentError):
            tx.create_dataset("b.h5", "relative", shape=(4,), dtype="u1", chunks=(4,))
        with pytest.raises(h5tx.InvalidArgumentError):
            tx.create_dataset("b.h5", "/e", shape=(4,), dtype="u1", chunks=(0,))
        with pytest.raises(h5tx.InvalidArgumentError):
            tx.create_dataset("b.h5", "/e", shape=(4,), dtype="u1", chunks=(4,), compression="lzf")
        with pytest.raises(h5tx.AlreadyExistsError):
            tx.create_dataset("b.h5", "/d", shape=(4,), dtype="u1", chunks=(4,))
        with pytest.raises(h5tx.NotFoundError):
            tx.dataset("b.h5", "/missing")
        with pytest.raises(h5tx.InvalidArgumentError):
            tx.create_file("../escape.h5")
        with pytest.raises(TypeError):
            tx.create_file(42)
        with pytest.raises(TypeError):
            tx.rollback_to(3)
    # a finished transaction
    with pytest.raises(h5tx.StateError):
        tx.dataset("b.h5", "/d")
    with pytest.raises(h5tx.StateError):
        ds[0, 0] = 1
    with pytest.raises(h5tx.StateError):
        tx.commit()
    ro = store.begin(read_only=True)
    with pytest.raises(h5tx.StateError):
        ro.dataset("b.h5", "/d")[0, 0] = 1
    ro.abort()
    with pytest.raises(TypeError, match="unknown store option"):
        h5tx.Store.open(store.home, no_such_option=1)
    # a closed store
    live = store.begin(read_only=True)
    if mode == "undo":  # a running transaction keeps the store (and its lock) until it ends
        with pytest.raises(h5tx.StateError, match="still active"):
            store.close()
    else:
        store.close()
    store.close()  # idempotent
    assert store.closed
    for call in (lambda: store.begin(), store.flush, store.stats, store.pending, lambda: store.home):
        with pytest.raises(h5tx.StateError, match="closed"):
            call()
    if mode == "redo":  # the transaction outlives its closed store: calls fail, none crash
        with pytest.raises(h5tx.StateError):
            live.list_files()
    else:
        assert live.list_files() == ["b.h5"]
    live.abort()


def test_errors_carry_path_and_message(tmp_path):
    with pytest.raises(h5tx.NotFoundError) as e:
        h5tx.Store.open(str(tmp_path / "nothing"))
    assert isinstance(e.value, LookupError)
    assert e.value.path and e.value.message and str(e.value).startswith("not found")
    h5tx.Store.create(str(tmp_path / "s"), mode="undo").close()
    with h5tx.Store.open(str(tmp_path / "s")):  # undo mode: one writer at a time
        with pytest.raises(h5tx.BusyError):
            h5tx.Store.open(str(tmp_path / "s"), lock_timeout=0.05)
