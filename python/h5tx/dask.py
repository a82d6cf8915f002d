"""h5tx.dask: store Dask arrays into an h5tx store from a Dask cluster.

Every block is written by an ordinary Dask task in a worker process, which
reaches the store through the file system (HOME must be at the same path on
every worker: one machine, or a shared file system). Two ways, both safe
when a worker dies and Dask retries its task (docs/python.md, "Dask"):

* ``atomic=False`` (resumable): each task commits its block's chunks in its
  own durable transaction(s), and records in the same transaction which
  chunks it committed (a per-chunk commit counter in the store's data file
  ``.h5tx-dask.h5``). A retried task, or a rerun after the client or the
  cluster died (``resume=True``), skips the chunks already committed, so no
  chunk is ever committed twice and no block is half-committed per
  transaction.
* ``atomic=True`` (all or nothing): the client begins one transaction
  (which creates the dataset), whose ``journal/working_<id>_temp/``
  directory is the staging area; the workers write their filtered chunks
  into part files there (:class:`h5tx.StagedWriter`), and the client adopts
  their records and commits once: one rename makes all of it visible. If a
  block fails or the client dies, nothing appears, and the staged part files
  are garbage the next open removes. No block data passes through the client.

:class:`Target` is a picklable target for ``dask.array.store(x, target,
lock=False)``. Importable only when Dask is installed.
"""

from __future__ import annotations

import hashlib
import logging
import os
import socket

import numpy as _np

import dask
import dask.array as _da

from . import (ConflictError, InvalidArgumentError, NotFoundError, Store, UnsupportedError, DTYPES,
               _auto_chunks, _dtype_name, _invalid, _shape)
from . import StagedWriter

__all__ = ["store", "Target", "RECORD_FILE", "record_path", "commit_counts"]

_log = logging.getLogger("h5tx.dask")

#: The data file holding the resume records of ``atomic=False`` stores.
RECORD_FILE = ".h5tx-dask.h5"
_COMMIT_RETRIES = 20


def record_path(file: str, path: str) -> str:
    """The dataset of RECORD_FILE that counts the commits of each chunk of
    ``file:path`` (u32, one element per HDF5 chunk of the target, element
    chunks of 1: tasks never write the same record chunk)."""
    digest = hashlib.sha256(f"{file}\0{path}".encode()).hexdigest()[:32]
    return f"/records/{digest}"


def _grid(shape, chunks) -> tuple:
    return tuple(-(-s // c) for s, c in zip(shape, chunks))


def _check_home(home: str) -> str:
    home = os.path.abspath(str(home))
    if not os.path.isfile(os.path.join(home, "h5tx.store")):
        raise NotFoundError(f"not found: {home}: no h5tx store here (h5tx.store missing) as seen from host "
                            f"{socket.gethostname()}; HOME must be on a file system every worker sees at "
                            f"the same path", home, "no h5tx store here")
    return home


def _open(home: str, lock_timeout: float) -> Store:
    # Until many writer processes share a redo store, writers take turns on
    # its lock (lock_timeout); afterwards they simply run side by side.
    return Store.open(_check_home(home), lock_timeout=lock_timeout)


# --- preparation on the client ---------------------------------------------------------

def _chunks_for(x, dataset_options: dict) -> tuple:
    chunks = dataset_options.pop("chunks", None)
    if chunks is not None and chunks is not True:
        return _shape(chunks, "chunks")
    # The array's (regular) block shape, halved in even dimensions down to
    # about 1 MiB, so that HDF5 chunks tile every block.
    block = [max(1, c[0]) if c else 1 for c in x.chunks]
    itemsize = x.dtype.itemsize
    while _np.prod(block, dtype=float) * itemsize > (1 << 20):
        even = [i for i, b in enumerate(block) if b % 2 == 0]
        if not even:
            break
        i = max(even, key=lambda k: block[k])
        block[i] //= 2
    if not x.shape:
        return ()
    return tuple(block) if all(block) else _auto_chunks(x.shape, itemsize)


def _aligned(x, chunks: tuple):
    """x rechunked, if needed, so that every block is a union of whole HDF5
    chunks (no two tasks ever write one chunk)."""
    ok = all(all(b % c == 0 for b in dim[:-1]) for dim, c in zip(x.chunks, chunks))
    if ok:
        return x
    target = []
    for dim, c in zip(x.chunks, chunks):
        avg = max(dim) if dim else c
        target.append(max(1, round(avg / c)) * c)
    _log.info("rechunking %s to %s to align with the HDF5 chunks %s", x.chunksize, tuple(target), chunks)
    return x.rechunk(tuple(target))


def _prepare(tx, x, file: str, path: str, create: bool, dataset_options: dict) -> dict:
    """Creates file and dataset if missing (in tx), checks an existing one;
    returns the dataset's spec."""
    where = f"{file}:{path}"
    name = _dtype_name(x.dtype, "the array's dtype")
    if file not in tx.list_files():
        if not create:
            raise NotFoundError(f"not found: {file}: no such data file (create=False)", file, "no such data file")
        tx.create_file(file)
    if path not in tx.list_datasets(file):
        if not create:
            raise NotFoundError(f"not found: {where}: no such dataset (create=False)", where, "no such dataset")
        opts = dict(dataset_options)
        chunks = _chunks_for(x, opts)
        tx.create_dataset(file, path, shape=x.shape, dtype=DTYPES[name], chunks=chunks, **opts)
    spec = tx.dataset(file, path).spec
    if tuple(spec["shape"]) != tuple(x.shape):
        raise _invalid(f"the array's shape {tuple(x.shape)} does not fit the dataset's shape "
                       f"{tuple(spec['shape'])}", where)
    if spec["dtype"] != name:
        raise _invalid(f"the array's dtype {x.dtype} does not fit the dataset's dtype "
                       f"{DTYPES[spec['dtype']]}", where)
    if dataset_options.get("chunks") not in (None, True) and \
            tuple(_shape(dataset_options["chunks"], "chunks")) != tuple(spec["chunks"]):
        raise _invalid(f"chunks={tuple(dataset_options['chunks'])} differs from the existing dataset's "
                       f"chunks {tuple(spec['chunks'])}", where)
    return spec


def _block_chunks(spec: dict, offset: tuple, block_shape: tuple):
    """The chunk coordinates inside a block, with each chunk's selection in the block."""
    chunks = spec["chunks"]
    ranges = []
    for o, b, c in zip(offset, block_shape, chunks):
        ranges.append(range(o // c, -(-(o + b) // c)))
    for coords in _np.ndindex(*[len(r) for r in ranges]):
        cc = tuple(r[i] for r, i in zip(ranges, coords))
        sel = tuple(slice(k * c - o, min((k + 1) * c - o, b)) for k, c, o, b in zip(cc, chunks, offset, block_shape))
        yield cc, sel


def _chunk_data(spec: dict, block, sel) -> _np.ndarray:
    """One whole chunk of a block, an edge chunk padded with the fill value."""
    part = block[sel]
    chunks = tuple(spec["chunks"])
    if part.shape == chunks:
        return _np.ascontiguousarray(part, dtype=DTYPES[spec["dtype"]])
    out = _np.full(chunks, spec["fillvalue"], dtype=DTYPES[spec["dtype"]])
    out[tuple(slice(0, n) for n in part.shape)] = part
    return out


# --- tasks (in the workers) ------------------------------------------------------------

def _commit_block(block, offset, home, file, path, spec, rec, per_tx, lock_timeout, hook):
    """atomic=False: commits the block's chunks not yet recorded, with their
    records, in transactions of per_tx chunks. Returns counts."""
    block = _np.asarray(block)
    todo = list(_block_chunks(spec, offset, block.shape))
    groups = [todo[i:i + per_tx] for i in range(0, len(todo), per_tx)] if per_tx else [todo]
    written = skipped = txs = 0
    with _open(home, lock_timeout) as s:
        for group in groups:
            for attempt in range(_COMMIT_RETRIES):
                try:
                    with s.begin(check_conflicts=True) as tx:
                        counts = {cc: int(tx.read_chunk(RECORD_FILE, rec, cc).reshape(-1)[0]) for cc, _ in group}
                        fresh = [(cc, sel) for cc, sel in group if counts[cc] == 0]
                        for cc, sel in fresh:
                            tx.write_chunk(file, path, cc, _chunk_data(spec, block, sel))
                            tx.write_chunk(RECORD_FILE, rec, cc, _np.array([counts[cc] + 1], dtype="<u4"))
                        tx.set_message(f"h5tx.dask: {len(fresh)} chunks of {file}:{path}")
                        if not fresh:
                            tx.abort()
                    break
                except ConflictError:
                    # Another attempt of this task committed some of these
                    # chunks after our snapshot: read the records again.
                    if attempt == _COMMIT_RETRIES - 1:
                        raise
            written += len(fresh)
            skipped += len(group) - len(fresh)
            txs += 1 if fresh else 0
            if hook is not None and fresh:
                hook(offset, [cc for cc, _ in fresh])
    return {"blocks": 1, "chunks_written": written, "chunks_skipped": skipped, "transactions": txs}


def _stage_block(block, offset, token, file, path, spec, hook):
    """atomic=True: writes the block's chunks into a new part file of the
    staging directory; returns their records (nothing is visible yet)."""
    block = _np.asarray(block)
    w = StagedWriter(token)
    for cc, sel in _block_chunks(spec, offset, block.shape):
        w.write_chunk(file, path, spec, cc, _chunk_data(spec, block, sel))
        if hook is not None:
            hook(offset, [cc])
    return w.finish()


def _sum_counts(results) -> dict:
    out = {"blocks": 0, "chunks_written": 0, "chunks_skipped": 0, "transactions": 0}
    for r in results:
        for k in out:
            out[k] += r[k]
    return out


def _block_tasks(x, fn, *args):
    """One delayed task per block of x: fn(block, offset, *args)."""
    blocks = x.to_delayed()
    starts = [_np.cumsum((0,) + tuple(c[:-1])) for c in x.chunks]
    tasks = []
    for index in _np.ndindex(*blocks.shape):
        offset = tuple(int(st[i]) for st, i in zip(starts, index))
        tasks.append(dask.delayed(fn, pure=False)(blocks[index], offset, *args))
    return tasks


# --- the public calls ---------------------------------------------------------------------

def _normalize(sources, file, path):
    if isinstance(sources, (list, tuple)):
        if not isinstance(file, (list, tuple)) or not isinstance(path, (list, tuple)) or \
                not len(sources) == len(file) == len(path):
            raise _invalid("a list of arrays needs lists of files and paths of the same length")
        items = list(zip(sources, file, path))
    else:
        items = [(sources, file, path)]
    out = []
    seen = set()
    for x, f, p in items:
        if not isinstance(x, _da.Array):
            x = _da.asarray(x)
        if (f, p) in seen:
            raise _invalid(f"{f}:{p} is the target of two arrays")
        seen.add((f, p))
        out.append((x, str(f), str(p)))
    return out


def store(sources, home, file, path, *, atomic: bool = False, resume: bool = True, create: bool = True,
          chunks_per_transaction: int | None = None, compute: bool = True, lock_timeout: float = 600,
          _hook=None, **dataset_options):
    """Store dask array(s) into dataset(s) of the store at ``home`` from the
    cluster's workers (the current Dask scheduler: ``distributed.Client``,
    threads or processes).

    ``sources``: a dask array (NumPy arrays are wrapped), or a list of arrays
    with lists ``file`` and ``path``. The dataset is created if missing
    (``create=True``; shape and dtype from the array, HDF5 chunks that tile
    the array's blocks or ``chunks=``, other h5py keywords as in
    ``Transaction.create_dataset``); an existing one must have the array's
    shape and dtype. Blocks that do not align with the HDF5 chunks are
    rechunked so that no two tasks write one chunk.

    ``atomic=False``: each task commits its chunks in its own durable
    transactions (``chunks_per_transaction`` chunks each; None: one per
    block), recording them; ``resume=True`` skips chunks an interrupted
    earlier store of the same target committed (``resume=False`` starts
    over). ``atomic=True``: all of it appears in one transaction at the end,
    or nothing (needs ``compute=True``: the client's transaction is the
    staging area).

    ``lock_timeout``: seconds a task waits for the store's lock while another
    process writes. Returns a dict (blocks, chunks_written, chunks_skipped,
    transactions), or with ``compute=False`` (atomic=False only) a
    ``dask.delayed`` object computing it.
    """
    items = _normalize(sources, file, path)
    if chunks_per_transaction is not None and int(chunks_per_transaction) < 1:
        raise _invalid(f"chunks_per_transaction must be at least 1, not {chunks_per_transaction!r}")
    home = _check_home(home)
    if atomic and not compute:
        raise _invalid("atomic=True needs compute=True: the staging transaction lives in the client "
                       "until every block is written")
    with _open(home, lock_timeout) as s:
        if s.mode != "redo":
            raise UnsupportedError(f"unsupported: {home}: the store is in undo mode, which serves one writer "
                                   f"process at a time; h5tx.dask needs a redo-mode store", home,
                                   "the store is in undo mode")
        if atomic:
            return _store_atomic(s, items, create, _hook, dataset_options)
        plan = _prepare_resumable(s, items, resume, create, dataset_options)
    # The store is closed again: the workers open it themselves.
    tasks = []
    for x, f, p, spec in plan:
        tasks += _block_tasks(x, _commit_block, home, f, p, spec, record_path(f, p), chunks_per_transaction,
                              lock_timeout, _hook)
    summary = dask.delayed(_finish_resumable, pure=False)(tasks, home, [(f, p) for _, f, p, _ in plan],
                                                           lock_timeout)
    if not compute:
        return summary
    return summary.compute()


def _prepare_resumable(s, items, resume, create, dataset_options):
    plan = []
    with s.begin() as tx:
        if RECORD_FILE not in tx.list_files():
            tx.create_file(RECORD_FILE)
        for x, f, p in items:
            spec = _prepare(tx, x, f, p, create, dict(dataset_options))
            x = _aligned(x, tuple(spec["chunks"]))
            rec = record_path(f, p)
            grid = _grid(spec["shape"], spec["chunks"])
            if rec not in tx.list_datasets(RECORD_FILE):
                tx.create_dataset(RECORD_FILE, rec, shape=grid, dtype="<u4", chunks=(1,) * len(grid))
                tx.attrs(RECORD_FILE, rec)["target"] = f"{f}:{p}"
            elif tuple(tx.dataset(RECORD_FILE, rec).shape) != grid:
                raise _invalid(f"the resume record {RECORD_FILE}:{rec} of {f}:{p} has another chunk grid", f"{f}:{p}")
            attrs = tx.attrs(RECORD_FILE, rec)
            state = attrs["state"] if "state" in attrs else "complete"
            if state != "running" or not resume:
                # A new store into this target: its commit counts start at 0.
                counts = tx.read(RECORD_FILE, rec, (0,) * len(grid), grid)
                for cc in zip(*_np.nonzero(counts)):
                    tx.write_chunk(RECORD_FILE, rec, tuple(int(c) for c in cc), _np.zeros(1, "<u4"))
                attrs["state"] = "running"
            plan.append((x, f, p, spec))
    return plan


def _finish_resumable(results, home, targets, lock_timeout):
    with _open(home, lock_timeout) as s:
        with s.begin() as tx:
            for f, p in targets:
                tx.attrs(RECORD_FILE, record_path(f, p))["state"] = "complete"
    out = _sum_counts(results)
    _log.info("h5tx.dask: %d blocks, %d chunks committed, %d already committed, %d transactions",
              out["blocks"], out["chunks_written"], out["chunks_skipped"], out["transactions"])
    return out


def _store_atomic(s, items, create, hook, dataset_options):
    tx = s.begin(check_conflicts=True)
    try:
        plan = []
        for x, f, p in items:
            spec = _prepare(tx, x, f, p, create, dict(dataset_options))
            plan.append((_aligned(x, tuple(spec["chunks"])), f, p, spec))
        token = tx.stage()
        tasks = []
        for x, f, p, spec in plan:
            tasks += _block_tasks(x, _stage_block, token, f, p, spec, hook)
        parts = dask.compute(*tasks)
        records = [r for part in parts for r in part]
        tx.adopt(records)
        tx.set_message(f"h5tx.dask atomic store: {len(records)} chunks of "
                       + ", ".join(f"{f}:{p}" for _, f, p, _ in plan))
        tx.commit()
    except BaseException:
        try:
            tx.abort()
        except Exception as e:  # a worker still writing a part file: the next open removes the rest
            _log.warning("h5tx.dask: aborting the staging transaction: %s", e)
        raise
    out = {"blocks": len(tasks), "chunks_written": len(records), "chunks_skipped": 0, "transactions": 1}
    _log.info("h5tx.dask: %d blocks, %d chunks committed in transaction %d", len(tasks), len(records), tx.txid)
    return out


def commit_counts(home, file: str, path: str, lock_timeout: float = 600) -> _np.ndarray:
    """How many times each chunk of ``file:path`` was committed by the
    current (or last) ``atomic=False`` store into it (the resume record)."""
    with _open(home, lock_timeout) as s:
        with s.begin(read_only=True) as tx:
            rec = record_path(file, path)
            shape = tuple(tx.dataset(RECORD_FILE, rec).shape)
            return tx.read(RECORD_FILE, rec, (0,) * len(shape), shape)


class Target:
    """A picklable target for ``dask.array.store(x, Target(home, file, path),
    lock=False)``: each region Dask stores is written in its own durable
    transaction (read-modify-write of the chunks it touches; a retried task
    writes the same values again). The dataset must exist. Only the three
    names are pickled; each task opens the store itself."""

    def __init__(self, home, file: str, path: str, lock_timeout: float = 600) -> None:
        self.home = os.path.abspath(str(home))
        self.file = str(file)
        self.path = str(path)
        self.lock_timeout = lock_timeout
        self._spec = None

    def __reduce__(self):
        return (Target, (self.home, self.file, self.path, self.lock_timeout))

    def _get_spec(self) -> dict:
        if self._spec is None:
            with _open(self.home, self.lock_timeout) as s, s.begin(read_only=True) as tx:
                self._spec = tx.dataset(self.file, self.path).spec
        return self._spec

    @property
    def shape(self) -> tuple:
        return tuple(self._get_spec()["shape"])

    @property
    def dtype(self) -> _np.dtype:
        return DTYPES[self._get_spec()["dtype"]]

    @property
    def ndim(self) -> int:
        return len(self.shape)

    def __setitem__(self, key, value) -> None:
        value = _np.asarray(value)
        with _open(self.home, self.lock_timeout) as s:
            for attempt in range(_COMMIT_RETRIES):
                try:
                    with s.begin() as tx:
                        tx.dataset(self.file, self.path)[key] = value
                    return
                except ConflictError:
                    if attempt == _COMMIT_RETRIES - 1:
                        raise

    def __repr__(self) -> str:
        return f"h5tx.dask.Target({self.home!r}, {self.file!r}, {self.path!r})"
