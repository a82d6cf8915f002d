"""h5tx.dask: store Dask arrays into an h5tx store from a Dask cluster.

Every block is written by an ordinary Dask task in a worker process, which
reaches the store through the file system (HOME must be at the same path on
every worker: one machine, or a shared file system). Two ways, both safe
when a worker dies and Dask retries its task (docs/python.md, "Dask"):

* ``atomic=False`` (resumable): each task commits its block's chunks in its
  own durable transaction(s), and records in the same transaction how many
  of the block's chunks are committed (one progress element per block in
  the store's data file ``.h5tx-dask.h5``). A retried task, or a rerun
  after the client or the cluster died (``resume=True``), skips the chunks
  already committed, so no chunk is ever committed twice and no block is
  half-committed per transaction.
* ``atomic=True`` (all or nothing): the client makes a staging directory
  in the store's journal (:meth:`h5tx.Store.stage`, owned by no
  transaction) and keeps the store open, which keeps recovery away from it;
  the block tasks write their filtered chunks into part files there
  (:class:`h5tx.StagedWriter`); a final task begins one transaction (which
  creates the dataset), takes the directory over with the records the block
  tasks returned (``Transaction.adopt(records, token)``) and commits: one
  rename makes all of it visible. If a block fails or the client dies,
  nothing appears, and the staging directory is garbage that the next open
  (with no other process holding the store) removes. No block data passes
  through the client, and with ``compute=False`` the returned delayed object
  does all of it whenever it is computed.

:class:`Target` is a picklable target for ``dask.array.store(x, target,
lock=False)``. Importable only when Dask is installed.
"""

from __future__ import annotations

import ast
import hashlib
import logging
import os
import socket
import threading
import weakref

import numpy as _np

import dask
import dask.array as _da
from dask.delayed import Delayed as _Delayed

from . import (ConflictError, NotFoundError, Store, UnsupportedError, DTYPES,
               _auto_chunks, _dtype_name, _invalid, _shape)
from . import StagedWriter

__all__ = ["store", "Target", "RECORD_FILE", "record_path", "progress_path", "commit_counts"]

_log = logging.getLogger("h5tx.dask")

#: The data file holding the resume records of ``atomic=False`` stores.
RECORD_FILE = ".h5tx-dask.h5"
_COMMIT_RETRIES = 20


def _digest(*parts) -> str:
    return hashlib.sha256("\0".join(parts).encode()).hexdigest()[:32]


def record_path(file: str, path: str) -> str:
    """The dataset of RECORD_FILE in which earlier h5tx versions counted the
    commits of each chunk of ``file:path`` (u32, one element per HDF5 chunk
    of the target in one-element chunks). Still read: :func:`commit_counts`
    of such a store, and a store interrupted under it resumes."""
    return f"/records/{_digest(file, path)}"


def progress_path(file: str, path: str, blocks) -> str:
    """The progress record of ``file:path`` stored in blocks ``blocks`` (the
    dask array's ``chunks``): u64, one element per block (in one-element
    HDF5 chunks: tasks never write the same record chunk), ``run << 32 |
    chunks of the block committed`` (in the block's chunk order); an element
    of an earlier run counts as 0. Its attributes: target, blocks, run,
    state ("running" or "complete")."""
    return f"/progress/{_digest(file, path, repr(_blocks_key(blocks)))}"


def _blocks_key(blocks) -> tuple:
    return tuple(tuple(int(b) for b in dim) for dim in blocks)


def _current_attr(file: str, path: str) -> str:
    """The attribute of RECORD_FILE's root naming the progress record of the
    last resumable store into file:path."""
    return "progress " + _digest(file, path)


_RUN_SHIFT = 32
_COUNT_MASK = (1 << _RUN_SHIFT) - 1


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

def _commit_block(block, offset, index, home, file, path, spec, rec, run, per_tx, lock_timeout, hook):
    """atomic=False: commits the block's chunks after those its progress
    record counts, with the record, in transactions of per_tx chunks.
    Returns counts."""
    block = _np.asarray(block)
    todo = list(_block_chunks(spec, offset, block.shape))
    per_tx = per_tx or max(1, len(todo))
    written = txs = 0
    skipped = None
    with _open(home, lock_timeout) as s:
        while True:
            for attempt in range(_COMMIT_RETRIES):
                try:
                    with s.begin(check_conflicts=True) as tx:
                        v = int(tx.read_chunk(RECORD_FILE, rec, index).reshape(-1)[0])
                        k = v & _COUNT_MASK if v >> _RUN_SHIFT == run else 0
                        if skipped is None:
                            skipped = k
                        group = todo[k:k + per_tx]
                        for cc, sel in group:
                            tx.write_chunk(file, path, cc, _chunk_data(spec, block, sel))
                        if group:
                            tx.write_chunk(RECORD_FILE, rec, index,
                                           _np.array([run << _RUN_SHIFT | (k + len(group))], dtype="<u8"))
                            tx.set_message(f"h5tx.dask: {len(group)} chunks of {file}:{path}")
                        else:
                            tx.abort()
                    break
                except ConflictError:
                    # Another attempt of this task committed some of these
                    # chunks after our snapshot: read the record again.
                    if attempt == _COMMIT_RETRIES - 1:
                        raise
            if not group:
                break
            written += len(group)
            txs += 1
            if hook is not None:
                hook(offset, [cc for cc, _ in group])
    return {"blocks": 1, "chunks_written": written, "chunks_skipped": skipped or 0, "transactions": txs}


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


def _block_offsets(blocks):
    """(index, offset, shape) of every block of a dask ``chunks`` tuple."""
    starts = [_np.cumsum((0,) + tuple(c[:-1])) for c in blocks]
    for index in _np.ndindex(*[len(c) for c in blocks]):
        yield (tuple(int(i) for i in index), tuple(int(st[i]) for st, i in zip(starts, index)),
               tuple(int(c[i]) for c, i in zip(blocks, index)))


def _block_tasks(x, fn, *args, with_index=False):
    """One delayed task per block of x: fn(block, offset, [index,] *args)."""
    blocks = x.to_delayed()
    tasks = []
    for index, offset, _ in _block_offsets(x.chunks):
        head = (blocks[index], offset, index) if with_index else (blocks[index], offset)
        tasks.append(dask.delayed(fn, pure=False)(*head, *args))
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
    or nothing; the blocks are staged in a directory of the store's journal,
    which this process protects by keeping the store open until the final
    task has taken it over (with ``compute=False``: until then, or until the
    returned object is dropped).

    ``lock_timeout``: seconds a task waits for the store's lock while another
    process writes. Returns a dict (blocks, chunks_written, chunks_skipped,
    transactions), or with ``compute=False`` a ``dask.delayed`` object
    computing it.
    """
    items = _normalize(sources, file, path)
    if chunks_per_transaction is not None and int(chunks_per_transaction) < 1:
        raise _invalid(f"chunks_per_transaction must be at least 1, not {chunks_per_transaction!r}")
    home = _check_home(home)
    with _open(home, lock_timeout) as s:
        if s.mode != "redo":
            raise UnsupportedError(f"unsupported: {home}: the store is in undo mode, which serves one writer "
                                   f"process at a time; h5tx.dask needs a redo-mode store", home,
                                   "the store is in undo mode")
        if atomic:
            plan = _prepare_atomic(s, items, create, dataset_options)
        else:
            plan = _prepare_resumable(s, items, resume, create, dataset_options)
    if atomic:
        return _store_atomic(home, plan, compute, lock_timeout, _hook)
    # The store is closed again: the workers open it themselves.
    tasks = []
    for x, f, p, spec, rec, run in plan:
        tasks += _block_tasks(x, _commit_block, home, f, p, spec, rec, run, chunks_per_transaction,
                              lock_timeout, _hook, with_index=True)
    summary = dask.delayed(_finish_resumable, pure=False)(tasks, home, [rec for *_, rec, _ in plan],
                                                           lock_timeout)
    if not compute:
        return summary
    return summary.compute()


def _prepare_resumable(s, items, resume, create, dataset_options):
    plan = []
    with s.begin() as tx:
        if RECORD_FILE not in tx.list_files():
            tx.create_file(RECORD_FILE)
        root = tx.attrs(RECORD_FILE, "/")
        for x, f, p in items:
            spec = _prepare(tx, x, f, p, create, dict(dataset_options))
            x = _aligned(x, tuple(spec["chunks"]))
            rec = progress_path(f, p, x.chunks)
            grid = tuple(len(c) for c in x.chunks)
            current = root[_current_attr(f, p)] if _current_attr(f, p) in root else None
            if current is not None and current != rec and resume and \
                    tx.attrs(RECORD_FILE, current)["state"] == "running":
                raise _invalid(f"an interrupted store into {f}:{p} split the array into other blocks "
                               f"({tx.attrs(RECORD_FILE, current)['blocks']}); store the same blocks to "
                               f"resume it, or pass resume=False", f"{f}:{p}")
            if rec not in tx.list_datasets(RECORD_FILE):
                tx.create_dataset(RECORD_FILE, rec, shape=grid, dtype="<u8", chunks=(1,) * len(grid))
                attrs = tx.attrs(RECORD_FILE, rec)
                attrs["target"] = f"{f}:{p}"
                attrs["blocks"] = repr(_blocks_key(x.chunks))
                attrs["run"] = 0
                attrs["state"] = "complete"
            attrs = tx.attrs(RECORD_FILE, rec)
            run = int(attrs["run"])
            if attrs["state"] != "running" or not resume:
                # A new store into this target: a new run, whose elements
                # all count 0 (no record chunk is rewritten).
                run += 1
                if run > _COUNT_MASK:
                    raise _invalid(f"the progress record {RECORD_FILE}:{rec} has counted {run - 1} runs, "
                                   f"the most it can", f"{f}:{p}")
                attrs["run"] = run
                attrs["state"] = "running"
                if resume:
                    _resume_old_record(tx, f, p, spec, x.chunks, rec, run)
            root[_current_attr(f, p)] = rec
            plan.append((x, f, p, spec, rec, run))
    return plan


def _resume_old_record(tx, f, p, spec, blocks, rec, run) -> None:
    """A store interrupted under the per-chunk record of earlier h5tx versions
    (record_path): its committed chunks become the new run's progress, so
    that they are skipped. Each block's committed chunks must be the first
    ones in the block's chunk order (as that version committed them)."""
    old = record_path(f, p)
    if old not in tx.list_datasets(RECORD_FILE):
        return
    attrs = tx.attrs(RECORD_FILE, old)
    if "state" not in attrs or attrs["state"] != "running":
        return
    shape = tuple(tx.dataset(RECORD_FILE, old).shape)
    counts = tx.read(RECORD_FILE, old, (0,) * len(shape), shape)
    for index, offset, bshape in _block_offsets(blocks):
        flags = [bool(counts[cc]) for cc, _ in _block_chunks(spec, offset, bshape)]
        k = flags.index(False) if False in flags else len(flags)
        if any(flags[k:]):
            raise _invalid(f"the interrupted store recorded in {RECORD_FILE}:{old} (an earlier per-chunk "
                           f"record) committed chunks of block {index} out of order for these blocks; store "
                           f"the same blocks as then to resume it, or pass resume=False", f"{f}:{p}")
        if k:
            tx.write_chunk(RECORD_FILE, rec, index, _np.array([run << _RUN_SHIFT | k], dtype="<u8"))
    attrs["state"] = "resumed"


def _finish_resumable(results, home, records, lock_timeout):
    with _open(home, lock_timeout) as s:
        with s.begin() as tx:
            for rec in records:
                tx.attrs(RECORD_FILE, rec)["state"] = "complete"
    out = _sum_counts(results)
    _log.info("h5tx.dask: %d blocks, %d chunks committed, %d already committed, %d transactions",
              out["blocks"], out["chunks_written"], out["chunks_skipped"], out["transactions"])
    return out


# --- atomic=True ----------------------------------------------------------------------

def _prepare_atomic(s, items, create, dataset_options):
    """The targets' specs as the final transaction will create them (the
    datasets are created in a transaction that is then aborted: nothing is
    visible before the final commit)."""
    plan = []
    with s.begin() as tx:
        for x, f, p in items:
            spec = _prepare(tx, x, f, p, create, dict(dataset_options))
            plan.append((_aligned(x, tuple(spec["chunks"])), f, p, spec))
        tx.abort()
    return plan


class _StageHolder:
    """The client's hold on a staging directory: the store stays open in
    this process (so no other opener finds itself alone and recovers, which
    would remove the directory) until the final task has taken the
    directory over (it is gone: polled), or close() (the store call ended,
    the delayed object was dropped, or the interpreter exits)."""

    _POLL = 0.2

    def __init__(self, home: str, lock_timeout: float) -> None:
        self._store = _open(home, lock_timeout)
        try:
            self.token = self._store.stage()
        except BaseException:
            self._store.close()
            raise
        self.dir = self.token.split(":", 1)[1]
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._watch, name="h5tx.dask stage holder", daemon=True)
        self._thread.start()

    def _watch(self) -> None:
        while not self._stop.wait(self._POLL):
            if not os.path.isdir(self.dir):
                break
        self._close_store()

    def _close_store(self) -> None:
        with self._lock:
            if self._store is not None:
                try:
                    self._store.close()
                except Exception as e:  # noqa: BLE001 (a daemon thread or exit: report, go on)
                    _log.warning("h5tx.dask: closing the store that held %s: %s", self.dir, e)
                self._store = None

    def close(self) -> None:
        self._stop.set()
        self._close_store()


class _StoreDelayed(_Delayed):
    """The delayed object of an atomic store (compute=False). The client
    keeps the store open, which protects the staging directory, until the
    final task has taken the directory over, or until release() is called,
    the object is garbage collected, or the interpreter exits. A failed
    computation's traceback may keep the object alive: release() lets go
    of the store at once (the next open with no other process holding the
    store then removes the staged parts)."""
    __slots__ = ("__weakref__", "_holder")

    def release(self) -> None:
        """Let go of the store (idempotent). A computation still running
        then fails rather than commits if the staging directory is removed
        before its final task takes it over."""
        self._holder.close()


def _stage_id(token: str) -> str:
    return os.path.basename(token.split(":", 1)[1])


def _marker(f: str, p: str) -> str:
    """The attribute of RECORD_FILE's root naming the staging directory of
    the last atomic store into f:p committed: a retried final task whose
    first attempt committed (and then died) finds its own id there."""
    return "atomic " + record_path(f, p).rsplit("/", 1)[1]


def _create_like(tx, f: str, p: str, spec: dict) -> None:
    if f not in tx.list_files():
        tx.create_file(f)
    if p not in tx.list_datasets(f):
        tx.create_dataset(f, p, shape=spec["shape"], dtype=DTYPES[spec["dtype"]], chunks=spec["chunks"],
                          maxshape=spec["maxshape"], compression=spec["compression"],
                          compression_opts=spec["compression_opts"], shuffle=spec["shuffle"],
                          fletcher32=spec["fletcher32"], fillvalue=spec["fillvalue"])
    now = tx.dataset(f, p).spec
    if now != spec:
        raise _invalid(f"the dataset changed while the blocks were staged (now {now}, staged for {spec})",
                       f"{f}:{p}")


def _commit_staged(parts, home, token, targets, blocks, lock_timeout):
    """atomic=True, the final task: one transaction creates the datasets,
    takes the staging directory over with every block's records, and
    commits."""
    records = [r for part in parts for r in part]
    stage = _stage_id(token)
    out = {"blocks": blocks, "chunks_written": len(records), "chunks_skipped": 0, "transactions": 1}
    with _open(home, lock_timeout) as s:
        if not os.path.isdir(token.split(":", 1)[1]):
            # Taken over already: by an earlier attempt of this task that
            # committed and died before it could report?
            with s.begin(read_only=True) as tx:
                attrs = tx.attrs(RECORD_FILE, "/") if RECORD_FILE in tx.list_files() else {}
                if all(_marker(f, p) in attrs and attrs[_marker(f, p)] == stage for f, p, _ in targets):
                    return out
        with s.begin(check_conflicts=True) as tx:
            for f, p, spec in targets:
                _create_like(tx, f, p, spec)
            if RECORD_FILE not in tx.list_files():
                tx.create_file(RECORD_FILE)
            for f, p, _ in targets:
                tx.attrs(RECORD_FILE, "/")[_marker(f, p)] = stage
            tx.adopt(records, token)
            tx.set_message(f"h5tx.dask atomic store: {len(records)} chunks of "
                           + ", ".join(f"{f}:{p}" for f, p, _ in targets))
        txid = tx.txid
    _log.info("h5tx.dask: %d blocks, %d chunks committed in transaction %d", blocks, len(records), txid)
    return out


def _store_atomic(home, plan, compute, lock_timeout, hook):
    holder = _StageHolder(home, lock_timeout)
    try:
        tasks = []
        for x, f, p, spec in plan:
            tasks += _block_tasks(x, _stage_block, holder.token, f, p, spec, hook)
        final = dask.delayed(_commit_staged, pure=False)(tasks, home, holder.token,
                                                         [(f, p, spec) for _, f, p, spec in plan], len(tasks),
                                                         lock_timeout)
    except BaseException:
        holder.close()
        raise
    if compute:
        try:
            return final.compute()
        finally:
            holder.close()
    out = _StoreDelayed(final.key, final.dask)
    out._holder = holder
    weakref.finalize(out, holder.close)
    return out


def commit_counts(home, file: str, path: str, lock_timeout: float = 600) -> _np.ndarray:
    """Per HDF5 chunk of ``file:path``, 1 if the current (or last)
    ``atomic=False`` store into it has committed the chunk, else 0 (an array
    of the dataset's chunk grid, u32). Reads the per-chunk record of stores
    made by earlier h5tx versions too."""
    with _open(home, lock_timeout) as s:
        with s.begin(read_only=True) as tx:
            root = tx.attrs(RECORD_FILE, "/") if RECORD_FILE in tx.list_files() else {}
            if _current_attr(file, path) not in root:
                rec = record_path(file, path)
                if RECORD_FILE not in tx.list_files() or rec not in tx.list_datasets(RECORD_FILE):
                    raise NotFoundError(f"not found: {file}:{path}: no resumable h5tx.dask store into it is "
                                        f"recorded", f"{file}:{path}", "no resumable store recorded")
                shape = tuple(tx.dataset(RECORD_FILE, rec).shape)
                return tx.read(RECORD_FILE, rec, (0,) * len(shape), shape)
            rec = root[_current_attr(file, path)]
            attrs = tx.attrs(RECORD_FILE, rec)
            run = int(attrs["run"])
            blocks = ast.literal_eval(attrs["blocks"])
            grid = tuple(tx.dataset(RECORD_FILE, rec).shape)
            progress = tx.read(RECORD_FILE, rec, (0,) * len(grid), grid)
            spec = tx.dataset(file, path).spec
    out = _np.zeros(_grid(spec["shape"], spec["chunks"]), dtype="<u4")
    for index, offset, bshape in _block_offsets(blocks):
        v = int(progress[index])
        k = v & _COUNT_MASK if v >> _RUN_SHIFT == run else 0
        for cc, _ in list(_block_chunks(spec, offset, bshape))[:k]:
            out[cc] = 1
    return out


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
