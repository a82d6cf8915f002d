"""h5tx.dask with a 256 MiB array on distributed.LocalCluster(processes=True,
n_workers=2), both modes: the flushed file, read back with h5py slab by
slab, equals the source exactly (CTest labels: python, slow)."""

import os

import numpy as np
import pytest

import h5tx

dask = pytest.importorskip("dask")
distributed = pytest.importorskip("distributed")
import dask.array as da  # noqa: E402
import h5py  # noqa: E402

import h5tx.dask as hd  # noqa: E402

N = 8192  # (N, N) u4 = 256 MiB
BLOCK_ROWS = 1024


def rows(r0, r1):
    return np.arange(r0, r1, dtype="<u4")[:, None] * np.uint32(N) + np.arange(N, dtype="<u4")[None, :]


def _gen(block_info=None):
    (r0, r1), _ = block_info[None]["array-location"]
    return rows(r0, r1)


@pytest.mark.parametrize("atomic", [True, False])
def test_256_mib_round_trip(client, tmp_path, atomic):
    home = str(tmp_path / "store")
    h5tx.Store.create(home).close()
    x = da.map_blocks(_gen, dtype="<u4", chunks=((BLOCK_ROWS,) * (N // BLOCK_ROWS), (N,)))
    assert x.nbytes == 256 << 20
    out = hd.store(x, home, "big.h5", "/x", atomic=atomic)
    assert out["blocks"] == N // BLOCK_ROWS
    assert out["chunks_written"] == 256  # (512, 512) chunks of 1 MiB
    with h5tx.Store.open(home) as s:
        s.flush()
    with h5py.File(os.path.join(home, "data", "big.h5"), "r") as f:
        d = f["/x"]
        assert d.shape == (N, N) and d.dtype == np.dtype("<u4") and d.chunks == (512, 512)
        for r0 in range(0, N, BLOCK_ROWS):
            np.testing.assert_array_equal(d[r0:r0 + BLOCK_ROWS], rows(r0, r0 + BLOCK_ROWS))
