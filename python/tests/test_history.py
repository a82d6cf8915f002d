"""History from Python: store.begin(as_of=txid) reads the state recorded at each
commit; Store.pack; the history option and its errors."""
import numpy as np
import pytest

import h5tx


def state(tx):
    """Every dataset's array and the root attributes of every file."""
    out = {}
    for f in tx.list_files():
        attrs = tx.attrs(f, "/")
        for name in attrs:
            v = attrs[name]
            out[(f, "@" + name)] = v if isinstance(v, str) else np.asarray(v).tolist()
        for d in tx.list_datasets(f):
            shape = tx.dataset(f, d).shape
            out[(f, d)] = tx.read(f, d, (0,) * len(shape), shape).copy()
    return out


def same(a, b):
    if a.keys() != b.keys():
        return False
    for k in a:
        x, y = a[k], b[k]
        if isinstance(x, np.ndarray):
            if x.shape != y.shape or not np.array_equal(x, y):
                return False
        elif x != y:
            return False
    return True


def test_as_of_every_txid_equals_the_state_at_its_commit(tmp_path):
    home = tmp_path / "store"
    recorded = {}
    rng = np.random.default_rng(4)
    with h5tx.Store.create(home, history=True, flush_batch_transactions=2, flush_delay=0) as store:
        with store.begin() as tx:
            tx.create_file("a.h5")
            tx.create_dataset("a.h5", "/v", shape=(8, 8), dtype="f8", chunks=(4, 4), maxshape=(None, 8))
            tx.attrs("a.h5", "/")["step"] = 0
        recorded[store.stats()["last_txid"]] = state(store.begin(read_only=True))
        for step in range(1, 12):
            with store.begin() as tx:
                rows = tx.dataset("a.h5", "/v").shape[0]
                if step % 4 == 0:
                    tx.extend_dataset("a.h5", "/v", (rows + 4, 8))
                    rows += 4
                r = int(rng.integers(0, rows - 3))
                tx.write("a.h5", "/v", (r, 4 * (step % 2)), np.full((4, 4), float(step)))
                tx.attrs("a.h5", "/")["step"] = step
            recorded[store.stats()["last_txid"]] = state(store.begin(read_only=True))
        store.flush()
        assert store.stats()["history"]
        for txid, want in recorded.items():
            with store.begin(as_of=txid) as tx:
                assert tx.snapshot == txid
                assert same(state(tx), want), f"as of txid {txid}"
        newest = max(recorded)
        txids = sorted(recorded)
        done = h5tx.Store.pack(home, before=txids[5])
        assert done["oldest"] == txids[5]
        with pytest.raises(h5tx.NotFoundError, match=f"oldest available: {txids[5]}"):
            store.begin(as_of=txids[2])
        for txid in txids[5:]:
            with store.begin(as_of=txid) as tx:
                assert same(state(tx), recorded[txid])
        with pytest.raises(h5tx.InvalidArgumentError, match="not committed"):
            store.begin(as_of=newest + 1)


def test_history_option_and_errors(tmp_path):
    with h5tx.Store.create(tmp_path / "plain") as store:
        with pytest.raises(h5tx.InvalidArgumentError, match="no history"):
            store.begin(as_of=0)
    with pytest.raises(TypeError):
        h5tx.Store.pack(tmp_path / "plain")
    with pytest.raises(h5tx.InvalidArgumentError):
        h5tx.Store.pack(tmp_path / "plain", before=1)
    with pytest.raises(h5tx.InvalidArgumentError, match="redo-mode"):
        h5tx.Store.create(tmp_path / "undo", mode="undo", history=True)
    with h5tx.Store.open(tmp_path / "plain", history=True) as store:
        assert store.stats()["history"]
    with h5tx.Store.open(tmp_path / "plain") as store:
        assert store.stats()["history"]
    with h5tx.Store.open(tmp_path / "plain", history=False) as store:
        assert not store.stats()["history"]
