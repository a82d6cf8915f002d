"""MPI recipe for h5tx (docs/python.md, "MPI"): every rank commits its own
rows of one dataset with the Python API, in its own durable transactions.

    mpirun -n 4 python3 docs/examples/mpi_store.py /shared/store

HOME must be on a file system every rank sees at the same path. Rank 0
creates the store, the data file and the dataset; after a barrier each rank
writes its share of chunk rows, one transaction per chunk row (a rank that
dies loses at most its transaction in progress: rerun it, the chunk rows
already committed are simply written again with the same bytes). Until
several writer processes share a redo store, the ranks take turns on the
store's lock (``lock_timeout``); no MPI-IO and no parallel HDF5 is needed.
Rank 0 then flushes and checks the result with h5py.
"""

import os
import sys

import numpy as np
from mpi4py import MPI

import h5tx

ROWS, COLS, CHUNK_ROWS = 256, 512, 16


def expected_rows(r0, r1):
    return (np.arange(r0, r1, dtype="<u4")[:, None] * COLS + np.arange(COLS, dtype="<u4")[None, :])


def main(home):
    comm = MPI.COMM_WORLD
    rank, size = comm.Get_rank(), comm.Get_size()
    if rank == 0:
        if not os.path.exists(os.path.join(home, "h5tx.store")):
            h5tx.Store.create(home).close()
        with h5tx.Store.open(home) as s, s.begin() as tx:
            if "mpi.h5" not in tx.list_files():
                tx.create_file("mpi.h5")
                tx.create_dataset("mpi.h5", "/x", shape=(ROWS, COLS), dtype="<u4", chunks=(CHUNK_ROWS, COLS))
    comm.Barrier()
    mine = list(range(rank, ROWS // CHUNK_ROWS, size))  # chunk rows of this rank, round robin
    with h5tx.Store.open(home, lock_timeout=600) as s:
        for cr in mine:
            r0 = cr * CHUNK_ROWS
            with s.begin() as tx:
                tx.write_chunk("mpi.h5", "/x", (cr, 0), expected_rows(r0, r0 + CHUNK_ROWS))
                tx.set_message(f"mpi rank {rank}: chunk row {cr}")
    print(f"rank {rank}: committed {len(mine)} chunk rows", flush=True)
    comm.Barrier()
    if rank == 0:
        import h5py
        with h5tx.Store.open(home, lock_timeout=600) as s:
            s.flush()
        with h5py.File(os.path.join(home, "data", "mpi.h5"), "r") as f:
            ok = np.array_equal(f["/x"][...], expected_rows(0, ROWS))
        print("verified" if ok else "MISMATCH", flush=True)
        if not ok:
            comm.Abort(1)


if __name__ == "__main__":
    main(os.path.abspath(sys.argv[1]))
