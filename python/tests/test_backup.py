"""h5tx.backup / restore / replicate / promote (docs/python.md): a backup
chain restores to each point, read back with h5py; a damaged stream is
refused naming the transaction; a replica opens read-only until promoted."""

import h5py
import numpy as np
import pytest

import h5tx


def commit_rows(store, first, n):
    """n transactions, each writing row value v into chunk v % 4 of /d; returns {txid: state}."""
    states = {}
    for v in range(first, first + n):
        with store.begin() as tx:
            tx.dataset("a.h5", "/d")[(v % 4) * 8:(v % 4 + 1) * 8] = np.full(8, v, dtype="u4")
        with store.begin(read_only=True) as r:
            states[tx.txid] = r.dataset("a.h5", "/d")[:].copy()
    return states


def make_source(tmp_path):
    s = h5tx.Store.create(str(tmp_path / "src"))
    with s.begin() as tx:
        tx.create_file("a.h5")
        tx.create_dataset("a.h5", "/d", shape=(32,), dtype="u4", chunks=(8,))
    return s


def h5py_data(home):
    with h5py.File(f"{home}/data/a.h5", "r") as f:
        return f["d"][:]


def test_full_and_incremental_backups_restore_to_each_point(tmp_path):
    s = make_source(tmp_path)
    states = commit_rows(s, 1, 5)
    full = h5tx.backup(s.home, tmp_path / "full")
    assert full.txid == max(states)
    assert [sl.name for sl in h5tx.slots(s.home)] == ["backup"]
    points, streams = [full.txid], []
    for k in range(3):
        states.update(commit_rows(s, 10 * (k + 1), 4))
        s.flush()  # flushed in the source: kept in its archive for the slot
        r = h5tx.backup(s.home, tmp_path / f"inc{k}", incremental=True)
        assert r.from_txid == points[-1] and r.transactions == 4
        points.append(r.txid)
        streams.append(tmp_path / f"inc{k}")
    s.close()
    for k, point in enumerate(points):
        r = h5tx.restore(tmp_path / f"r{k}", tmp_path / "full", streams[:k])
        assert r.txid == point
        np.testing.assert_array_equal(h5py_data(tmp_path / f"r{k}"), states[point])
        assert h5tx.position(tmp_path / f"r{k}") == point
    mid = sorted(states)[len(states) - 3]
    r = h5tx.restore(tmp_path / "rmid", tmp_path / "full", streams, to=mid)
    assert r.txid == mid
    np.testing.assert_array_equal(h5py_data(tmp_path / "rmid"), states[mid])
    h5tx.drop_slot(str(tmp_path / "src"), "backup")
    assert h5tx.slots(str(tmp_path / "src")) == []


def test_a_damaged_stream_is_refused_naming_the_transaction(tmp_path):
    s = make_source(tmp_path)
    h5tx.backup(s.home, tmp_path / "full")
    states = commit_rows(s, 1, 3)
    h5tx.backup(s.home, tmp_path / "inc", incremental=True)
    s.close()
    data = bytearray((tmp_path / "inc").read_bytes())
    first = min(states)
    data[48 + 24 + 60] ^= 0xFF  # inside the first transaction's MANIFEST
    (tmp_path / "bad").write_bytes(bytes(data))
    with pytest.raises(h5tx.CorruptionError, match=f"transaction {first:016x}"):
        h5tx.restore(tmp_path / "r", tmp_path / "full", [tmp_path / "bad"])
    assert not (tmp_path / "r").exists()


def test_a_replica_opens_read_only_until_promoted(tmp_path):
    s = make_source(tmp_path)
    commit_rows(s, 1, 3)
    h5tx.replicate(s.home, tmp_path / "rep")
    states = commit_rows(s, 7, 3)
    r = h5tx.replicate(s.home, tmp_path / "rep")
    assert r.txid == max(states) and r.transactions == 3
    with h5tx.Store.open(str(tmp_path / "rep"), read_only=True) as rep:
        with rep.begin(read_only=True) as tx:
            np.testing.assert_array_equal(tx.dataset("a.h5", "/d")[:], states[max(states)])
    with pytest.raises(h5tx.StateError, match="replica"):
        h5tx.Store.open(str(tmp_path / "rep"))
    h5tx.promote(tmp_path / "rep")
    h5tx.Store.open(str(tmp_path / "rep")).close()
    s.close()


def test_undo_mode_stores_are_refused(tmp_path):
    s = h5tx.Store.create(str(tmp_path / "u"), mode="undo")
    s.close()
    with pytest.raises(h5tx.UnsupportedError, match="redo-mode"):
        h5tx.backup(tmp_path / "u", tmp_path / "b")


def test_a_full_backup_as_a_stream_file_restores_with_incrementals(tmp_path):
    s = make_source(tmp_path)
    states = commit_rows(s, 1, 5)
    s.flush()  # data/a.h5 exists (else the stream's transactions create it)
    full = h5tx.backup(s.home, tmp_path / "full.h5txs", stream=True)
    assert full.txid == max(states)
    assert (tmp_path / "full.h5txs").read_bytes()[:8] == b"H5TXSTM\n"
    states.update(commit_rows(s, 10, 4))
    inc = h5tx.backup(s.home, tmp_path / "inc", incremental=True)
    assert inc.from_txid == full.txid
    s.close()
    r = h5tx.restore(tmp_path / "r0", tmp_path / "full.h5txs")
    assert r.txid == full.txid
    np.testing.assert_array_equal(h5py_data(tmp_path / "r0"), states[full.txid])
    r = h5tx.restore(tmp_path / "r1", tmp_path / "full.h5txs", [tmp_path / "inc"])
    assert r.txid == inc.txid
    np.testing.assert_array_equal(h5py_data(tmp_path / "r1"), states[inc.txid])
    # The store, closed and flushed, is labelled with its last commit.
    again = h5tx.backup(tmp_path / "src", tmp_path / "again.h5txs", stream=True, no_slot=True)
    assert again.txid == max(states)
    with pytest.raises(h5tx.InvalidArgumentError):
        h5tx.backup(tmp_path / "src", tmp_path / "x", stream=True, incremental=True)
    data = bytearray((tmp_path / "full.h5txs").read_bytes())
    at = data.rfind(b"data/a.h5") + len(b"data/a.h5") + 8 + 100  # inside the data file's first piece (the base is last)
    data[at] ^= 0x01
    (tmp_path / "bad.h5txs").write_bytes(bytes(data))
    with pytest.raises(h5tx.CorruptionError, match="base file data/a.h5, piece at offset 0"):
        h5tx.restore(tmp_path / "r2", tmp_path / "bad.h5txs")
    assert not (tmp_path / "r2").exists()


WRITER = r"""
import sys, numpy as np, h5tx
s = h5tx.Store.open(sys.argv[1])
for v in range(100, 100 + int(sys.argv[2])):
    with s.begin() as tx:
        tx.dataset("a.h5", "/d")[(v % 4) * 8:(v % 4 + 1) * 8] = np.full(8, v, dtype="u4")
    print(tx.txid, v, flush=True)
s.close()
"""


def test_replicate_follow_keeps_a_replica_up_with_a_writer_process(tmp_path):
    import os
    import subprocess
    import sys
    import threading
    import time

    s = make_source(tmp_path)
    commit_rows(s, 1, 3)
    s.close()
    h5tx.replicate(tmp_path / "src", tmp_path / "rep")
    with pytest.raises(h5tx.InvalidArgumentError):
        h5tx.replicate(tmp_path / "src", tmp_path / "rep", follow=True)
    stop = threading.Event()
    out = {}

    def follow():
        try:
            out["r"] = h5tx.replicate(tmp_path / "src", tmp_path / "rep", follow=True, stop=stop, poll_ms=5)
        except Exception as e:  # noqa: BLE001 - reported by the assertion below
            out["e"] = e

    t = threading.Thread(target=follow)
    t.start()
    env = dict(os.environ)
    w = subprocess.run([sys.executable, "-c", WRITER, str(tmp_path / "src"), "40"], capture_output=True,
                       text=True, env=env, timeout=300)
    assert w.returncode == 0, w.stderr
    lines = [line.split() for line in w.stdout.split("\n") if line]
    last = int(lines[-1][0])
    # The replica reads while it follows (read-only).
    deadline = time.time() + 60
    while time.time() < deadline and h5tx.position(tmp_path / "rep") < last:
        with h5tx.Store.open(str(tmp_path / "rep"), read_only=True) as r, r.begin(read_only=True) as tx:
            tx.dataset("a.h5", "/d")[:]
        time.sleep(0.01)
    stop.set()
    t.join(60)
    assert not t.is_alive()
    assert "e" not in out, out.get("e")
    assert out["r"].txid == last
    expect = np.zeros(32, dtype="u4")
    for v in (1, 2, 3):
        expect[(v % 4) * 8:(v % 4 + 1) * 8] = v
    for _, v in lines:
        v = int(v)
        expect[(v % 4) * 8:(v % 4 + 1) * 8] = v
    np.testing.assert_array_equal(h5py_data(tmp_path / "rep"), expect)
    # The slot followed the replica.
    assert [sl.txid for sl in h5tx.slots(tmp_path / "src") if sl.name == "replica"] == [last]
