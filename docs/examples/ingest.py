#!/usr/bin/env python3
"""Batch ingest with h5tx from Python (docs/python.md; python/tests/test_example.py runs it).

Writes a synthetic 3-D volume slab by slab into a new store, one transaction
per slab, so that a crash at any point leaves every committed slab in place
and no half-written one; then flushes and reads the plain HDF5 file back
with h5py.

    python3 ingest.py [STORE_DIR]
"""
import sys

import h5py
import numpy as np

import h5tx

home = sys.argv[1] if len(sys.argv) > 1 else "ingest-store"
shape, chunks = (64, 128, 128), (16, 64, 64)


def slab(z0, z1):
    """The synthetic data of planes z0..z1 (any deterministic function will do)."""
    z, y, x = np.meshgrid(np.arange(z0, z1), np.arange(shape[1]), np.arange(shape[2]), indexing="ij")
    return ((x * 7 + y * 13 + z * 31) % 65521).astype("u2")


with h5tx.Store.create(home) as store:                 # redo mode (the default)
    with store.begin() as tx:                           # commits when the block ends
        tx.create_file("volume.h5")
        ds = tx.create_dataset("volume.h5", "/volume", shape=shape, dtype="u2", chunks=chunks,
                               compression="gzip", fletcher32=True)
        ds.attrs["source"] = "synthetic"
    for z0 in range(0, shape[0], chunks[0]):            # one transaction per slab of chunks
        with store.begin() as tx:
            tx.dataset("volume.h5", "/volume")[z0:z0 + chunks[0]] = slab(z0, z0 + chunks[0])
            tx.set_message(f"planes {z0}..{z0 + chunks[0] - 1}")
        print(f"committed planes {z0}..{z0 + chunks[0] - 1} as transaction {tx.txid:016x}")
    store.flush()                                       # data/volume.h5 is now a plain HDF5 file
    path = store.data_path("volume.h5")

with h5py.File(path, "r") as f:                         # read back independently
    ok = np.array_equal(f["volume"][...], slab(0, shape[0])) and f["volume"].attrs["source"] == "synthetic"
print(f"{path}: {'verified' if ok else 'MISMATCH'}")
sys.exit(0 if ok else 1)
