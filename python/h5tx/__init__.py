"""h5tx: crash-safe, atomic, multi-file transactions for HDF5, from Python.

A :class:`Store` is a directory of ordinary HDF5 files plus the journal that
makes changes to them atomic. Every change happens inside a
:class:`Transaction`; its commit makes all of it durable and visible at
once, or raises and leaves none of it::

    import numpy as np, h5tx

    with h5tx.Store.create("/data/store") as store:        # redo mode
        with store.begin() as tx:                           # commits on exit
            tx.create_file("vol.h5")
            ds = tx.create_dataset("vol.h5", "/raw/image", shape=(256, 256),
                                   dtype="u2", chunks=(64, 64))
            ds[0:64, :] = np.arange(64 * 256, dtype="u2").reshape(64, 256)
            tx.attrs("vol.h5", "/raw/image")["units"] = "counts"

:mod:`h5tx.sec2j` has the original sec2j driver's names for bare HDF5 files
opened with h5py. The whole API and the crash guarantees: docs/python.md.
"""

from __future__ import annotations

import collections as _collections
import collections.abc as _abc

import numpy as _np

from ._errors import (AlreadyExistsError, BusyError, ConflictError, CorruptionError, Error, Hdf5Error,
                      InvalidArgumentError, IoError, NotFoundError, StateError, UnsupportedError)
from . import _h5tx as _lib

__all__ = [
    "Store", "Transaction", "Dataset", "Attributes", "Savepoint", "StagedWriter", "version", "DTYPES",
    "backup", "restore", "replicate", "promote", "position", "slots", "drop_slot", "BackupResult", "Slot",
    "Error", "IoError", "CorruptionError", "ConflictError", "BusyError", "InvalidArgumentError",
    "NotFoundError", "AlreadyExistsError", "UnsupportedError", "Hdf5Error", "StateError",
]

__version__: str = _lib.version()


def version() -> str:
    """The h5tx library version, ``"MAJOR.MINOR.PATCH"``."""
    return _lib.version()


# --- element types ------------------------------------------------------------

#: The element types h5tx stores (little-endian), as NumPy dtypes, by the library's names.
DTYPES = {
    "u8": _np.dtype("<u1"), "u16": _np.dtype("<u2"), "u32": _np.dtype("<u4"), "u64": _np.dtype("<u8"),
    "i8": _np.dtype("<i1"), "i16": _np.dtype("<i2"), "i32": _np.dtype("<i4"), "i64": _np.dtype("<i8"),
    "f32": _np.dtype("<f4"), "f64": _np.dtype("<f8"),
}
_NAME_OF = {dt: name for name, dt in DTYPES.items()}


def _dtype_name(dtype, what: str = "dtype") -> str:
    """The library's name ("u16") of a NumPy dtype-like; InvalidArgumentError if h5tx cannot store it."""
    try:
        dt = _np.dtype(dtype)
    except TypeError as e:
        raise InvalidArgumentError(f"invalid argument: {what} {dtype!r} is not a NumPy dtype ({e})",
                                   message=f"{what} {dtype!r} is not a NumPy dtype") from None
    name = _NAME_OF.get(dt.newbyteorder("<") if dt.byteorder in "=|" else dt)
    if name is None:
        msg = (f"{what} {dt.str} is not one of the element types h5tx stores "
               f"(little-endian u1..u8, i1..i8, f4, f8)")
        raise InvalidArgumentError("invalid argument: " + msg, message=msg)
    return name


def _invalid(msg: str, path: str = "") -> InvalidArgumentError:
    return InvalidArgumentError("invalid argument: " + (path + ": " if path else "") + msg, path, msg)


def _shape(value, what: str) -> tuple:
    if isinstance(value, (int, _np.integer)) and not isinstance(value, bool):
        value = (value,)
    try:
        out = tuple(int(v) for v in value)
    except (TypeError, ValueError):
        raise _invalid(f"{what} must be a tuple of non-negative integers, not {value!r}") from None
    if any(v < 0 for v in out):
        raise _invalid(f"{what} {out} has a negative dimension")
    return out


def _options(mode: str | None, kwargs: dict) -> "_lib.Options":
    o = _lib.Options()
    if mode is not None:
        o.mode = mode
    for key, value in kwargs.items():
        if key.startswith("_") or not hasattr(o, key) or key == "mode":
            raise TypeError(f"unknown store option {key!r} (see help(h5tx.Store.create))")
        setattr(o, key, value)
    return o


# --- Store --------------------------------------------------------------------

class Store:
    """An h5tx store: HOME with ``data/`` (the HDF5 files) and ``journal/``.

    Create one with :meth:`create` or open one with :meth:`open` (which runs
    crash recovery). A context manager: leaving the ``with`` block closes it.
    Thread-safe: any number of threads may begin transactions.

    Options (keyword arguments of create and open; timeouts and delays in
    seconds): ``read_only`` (False), ``lock_timeout`` (0: try once),
    ``max_unflushed_transactions`` (256), ``max_unflushed_bytes`` (1 GiB),
    ``flush_batch_transactions`` (32), ``flush_batch_bytes`` (256 MiB),
    ``flush_delay`` (0.2), ``spill_bytes`` (64 MiB), ``spill_chunk_bytes``
    (256 KiB), ``background_flusher`` (True), ``undo_page_size`` (4096),
    ``history`` (redo mode: keep history for ``begin(as_of=txid)``; create:
    default False; open: None keeps the store's setting, True/False switches
    it at a read-write open, False deleting all history).
    """

    def __init__(self, impl: "_lib.Store") -> None:
        """Use :meth:`create` or :meth:`open`."""
        self._impl = impl

    @classmethod
    def create(cls, home: str, mode: str = "redo", **options) -> "Store":
        """Create a store in ``home`` (missing or empty) in ``mode`` "redo" or "undo", and lock it."""
        return cls(_lib.Store.create(str(home), _options(mode, options)))

    @classmethod
    def open(cls, home: str, read_only: bool = False, lock_timeout: float = 0, mode: str | None = None,
             **options) -> "Store":
        """Open an existing store: lock it and run crash recovery (read-write), or
        only read it (``read_only=True``: a shared lock, nothing written).
        ``lock_timeout``: seconds to wait for another process's lock (BusyError after).
        ``mode``: if given, the store must be in that mode (InvalidArgumentError otherwise)."""
        return cls(_lib.Store.open(str(home), _options(mode, dict(options, read_only=read_only,
                                                                   lock_timeout=lock_timeout))))

    @staticmethod
    def quarantine(home: str, txid: int, **options) -> None:
        """Redo mode: move the committed transaction ``txid`` that recovery cannot
        apply out of the journal into HOME/quarantine/ (nothing is deleted)."""
        _lib.Store.quarantine(str(home), int(txid), _options(None, options))

    @property
    def mode(self) -> str:
        """"redo" or "undo"."""
        return self._impl.mode

    @property
    def home(self) -> str:
        """The store's directory."""
        return self._impl.home

    @property
    def closed(self) -> bool:
        """True once :meth:`close` was called."""
        return self._impl.closed

    def begin(self, read_only: bool = False, timeout: float = 10, check_conflicts: bool = True,
              as_of: int | None = None) -> "Transaction":
        """Start a transaction. ``read_only``: reads only (undo mode lets many run
        beside the writer). ``timeout`` (undo mode): seconds to wait for the writer
        slot, negative for ever. ``check_conflicts`` (redo mode): False for blind
        writes, last committer wins. ``as_of``: a read-only transaction (implies
        ``read_only``) reading the store as it was when that txid committed (a
        store with history); NotFoundError naming the oldest txid kept if it is
        older, InvalidArgumentError if it is not committed."""
        if as_of is not None:
            read_only = True
            as_of = int(as_of)
        return Transaction(self._impl.begin(bool(read_only), float(timeout), bool(check_conflicts), as_of), self)

    @staticmethod
    def pack(home: str, before: int | None = None, older_than: float | None = None, **options) -> dict:
        """A store with history: drop the history only reads as of txids before
        ``before`` (or before the newest txid committed more than ``older_than``
        seconds ago) need; online (beside a writer process), keeping what open
        as-of transactions and retention slots need. Returns what it did
        (oldest, limit, segments_removed, segments_rewritten, bytes_removed, segments_kept, bytes_kept)."""
        if (before is None) == (older_than is None):
            raise TypeError("pack needs exactly one of before and older_than")
        return _lib.Store.pack(str(home), None if before is None else int(before),
                               None if older_than is None else float(older_than), _options(None, options))

    def flush(self) -> None:
        """Redo mode: return when every committed transaction is in ``data/``
        (re-raises a flusher failure). Undo mode: nothing to do."""
        self._impl.flush()

    def close(self) -> None:
        """Flush (redo mode), stop the flusher, close the files, release the lock. Idempotent."""
        self._impl.close()

    def stats(self) -> dict:
        """Pending and flushed transactions and bytes, last txid, flusher state
        (``flusher_state``, ``waiting_for``)."""
        return self._impl.stats()

    def pending(self) -> list:
        """Redo mode: the committed, not yet flushed transactions in txid order, as
        dicts (txid, commit_time in seconds since the epoch, bytes, operations,
        message, metadata)."""
        return self._impl.pending()

    def stage(self) -> str:
        """Redo mode: a new staging directory owned by no transaction, for
        :class:`StagedWriter` objects in any process; its token. A
        transaction takes it over with ``tx.adopt(records, token)``. Until
        then it is garbage to recovery, which runs only when a writer process
        opens the store while none has it open: keep the store open (in any
        process) while the writers work. This process never removes it."""
        return self._impl.stage()

    def data_path(self, file: str) -> str:
        """The path of a data file, ``HOME/data/<file>`` (readable with h5py once flushed)."""
        return self._impl.data_path(file)

    def __enter__(self) -> "Store":
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        self.close()

    def __repr__(self) -> str:
        if self.closed:
            return "<h5tx.Store (closed)>"
        return f"<h5tx.Store {self.home!r} ({self.mode} mode)>"


# --- Transaction ----------------------------------------------------------------

class Savepoint:
    """A point inside a transaction to roll back to (:meth:`Transaction.savepoint`)."""

    __slots__ = ("id",)

    def __init__(self, id: int) -> None:
        self.id = id

    def __repr__(self) -> str:
        return f"<h5tx.Savepoint {self.id}>"


class Transaction:
    """A transaction of a :class:`Store` (from :meth:`Store.begin`).

    Reads see the committed state as of its begin (its snapshot) plus its own
    writes. A context manager: leaving the block normally commits, an
    exception aborts it and propagates. Not committed = aborted: a
    transaction that is garbage-collected or cut short by a crash leaves
    nothing behind. Use one transaction per thread (calls from several
    threads are serialized, not an error).
    """

    def __init__(self, impl: "_lib.Transaction", store: Store) -> None:
        """Use :meth:`Store.begin`."""
        self._impl = impl
        self._store = store  # keeps the store open as long as this transaction

    # context manager
    def __enter__(self) -> "Transaction":
        return self

    def __exit__(self, exc_type, exc, tb) -> bool:
        if exc_type is None:
            if self._impl.active:
                self._impl.commit()
        elif self._impl.active:
            self._impl.abort()
        return False

    @property
    def txid(self) -> int:
        """Redo mode: assigned at commit (0 before). Undo mode: at begin."""
        return self._impl.txid

    @property
    def snapshot(self) -> int:
        """The last txid visible to this transaction's reads."""
        return self._impl.snapshot

    @property
    def active(self) -> bool:
        """False once committed or aborted."""
        return self._impl.active

    @property
    def read_only(self) -> bool:
        """True for a transaction begun with ``read_only=True``."""
        return self._impl.read_only

    @property
    def store(self) -> Store:
        """The store that began this transaction."""
        return self._store

    def commit(self) -> None:
        """Make every change durable and visible at once. ConflictError (redo
        mode): another transaction committed a write to the same chunk, dataset
        or attribute after this one's snapshot; nothing of this one is visible."""
        self._impl.commit()

    def abort(self) -> None:
        """Drop every change (runs the on_abort hooks, newest first)."""
        self._impl.abort()

    # catalog
    def create_file(self, file: str) -> None:
        """Create the empty HDF5 file ``data/<file>``."""
        self._impl.create_file(file)

    def create_dataset(self, file: str, path: str, shape=None, dtype=None, chunks=None, maxshape=None,
                       compression=None, compression_opts=None, shuffle: bool = False,
                       fletcher32: bool = False, fillvalue=None, data=None) -> "Dataset":
        """Create a chunked dataset (missing parent groups too) and return its view.

        h5py's keyword names: ``shape`` (int or tuple), ``dtype`` (NumPy
        dtype-like: "u2", np.float32, ...), ``chunks`` (tuple; None or True:
        about 1 MiB per chunk), ``maxshape`` (None: ``shape``; None in a
        dimension: unlimited), ``compression`` (None or "gzip", which h5tx
        always applies together with shuffle), ``compression_opts`` (deflate
        level 1..9, default 4), ``shuffle`` (only with gzip), ``fletcher32``
        (HDF5's checksum filter), ``fillvalue`` (default 0). ``data``: an array
        to write into the new dataset (gives shape and dtype if missing).
        """
        if data is not None:
            data = _np.asarray(data)
            shape = data.shape if shape is None else shape
            dtype = data.dtype if dtype is None else dtype
        if shape is None or dtype is None:
            raise _invalid("create_dataset needs shape and dtype (or data)", f"{file}:{path}")
        shape = _shape(shape, "shape")
        name = _dtype_name(dtype)
        if chunks is None or chunks is True:
            chunks = _auto_chunks(shape, DTYPES[name].itemsize)
        chunks = _shape(chunks, "chunks")
        if maxshape is None:
            maxshape = shape
        elif isinstance(maxshape, (int, _np.integer)):
            maxshape = (maxshape,)
        maxshape = [None if m is None else int(m) for m in maxshape]
        if compression not in (None, "gzip", "deflate"):
            raise _invalid(f"compression {compression!r} is not supported (None or \"gzip\")", f"{file}:{path}")
        compress = compression is not None
        if shuffle and not compress:
            raise _invalid("shuffle is only available together with compression=\"gzip\"", f"{file}:{path}")
        level = 4 if compression_opts is None else compression_opts
        if not compress and compression_opts is not None:
            raise _invalid("compression_opts without compression", f"{file}:{path}")
        if not isinstance(level, (int, _np.integer)) or isinstance(level, bool):
            raise _invalid(f"compression_opts must be a deflate level 1..9, not {level!r}", f"{file}:{path}")
        fill = 0.0 if fillvalue is None else float(fillvalue)
        self._impl.create_dataset(file, path, name, list(shape), maxshape, list(chunks), fill, compress,
                                  int(level), bool(fletcher32))
        ds = Dataset(self, file, path)
        if data is not None:
            ds[...] = data
        return ds

    def extend_dataset(self, file: str, path: str, new_shape) -> None:
        """Grow the dataset to ``new_shape`` (never shrinks; within its maxshape)."""
        self._impl.extend_dataset(file, path, list(_shape(new_shape, "new_shape")))

    def dataset(self, file: str, path: str) -> "Dataset":
        """A view of an existing dataset: shape, dtype, chunks, slicing (NotFoundError if missing)."""
        self._impl.dataset_spec(file, path)  # exists?
        return Dataset(self, file, path)

    def list_files(self) -> list:
        """The data files in this transaction's view, sorted."""
        return sorted(self._impl.list_files())

    def list_datasets(self, file: str) -> list:
        """The absolute paths of the datasets of ``file``, sorted."""
        return sorted(self._impl.list_datasets(file))

    def attrs(self, file: str, object: str = "/") -> "Attributes":
        """The attributes of ``object`` ("/" for the file, or a group or dataset
        path) as a mutable mapping. NotFoundError if the object does not exist."""
        self._impl.list_attributes(file, object)  # exists?
        return Attributes(self, file, object)

    # data
    def write_chunk(self, file: str, path: str, coords, data) -> None:
        """Write one whole chunk: ``coords`` are chunk indices (offset = coords *
        chunks); ``data`` an array of the dataset's dtype with the chunk's number
        of elements (any shape), or raw little-endian bytes of the chunk's size.
        Edge chunks are whole chunks too."""
        if not isinstance(data, (bytes, bytearray, memoryview)):
            arr = _np.asarray(data)
            spec = self._impl.dataset_spec(file, path)
            want = DTYPES[spec["dtype"]]
            if arr.dtype != want:
                raise _invalid(f"chunk of dtype {arr.dtype} written to a dataset of dtype {want}; "
                               f"convert it with .astype(\"{want.str}\")", f"{file}:{path}")
            data = _np.ascontiguousarray(arr)
        self._impl.write_chunk(file, path, list(_shape(coords, "coords")), data)

    def read_chunk(self, file: str, path: str, coords) -> _np.ndarray:
        """One whole chunk as an array of the chunk shape (the fill value if never written)."""
        raw = self._impl.read_chunk(file, path, list(_shape(coords, "coords")))
        spec = self._impl.dataset_spec(file, path)
        return raw.view(DTYPES[spec["dtype"]]).reshape(spec["chunks"])

    def write(self, file: str, path: str, start, data) -> None:
        """Write the array ``data`` (the dataset's dtype, the dataset's rank) at
        offset ``start``: the hyperslab ``start .. start + data.shape``."""
        arr = _np.asarray(data)
        self._impl.write(file, path, list(_shape(start, "start")), list(arr.shape),
                         _dtype_name(arr.dtype, "array dtype"), _np.ascontiguousarray(arr))

    def read(self, file: str, path: str, start, count) -> _np.ndarray:
        """The hyperslab ``start .. start + count`` as a new array."""
        spec = self._impl.dataset_spec(file, path)
        count = _shape(count, "count")
        out = _np.empty(count, DTYPES[spec["dtype"]])
        if out.size:
            self._impl.read_into(file, path, list(_shape(start, "start")), list(count), spec["dtype"], out)
        return out

    # nested transactions, metadata, hooks
    # staged writing (h5tx.dask, atomic=True)
    def stage(self) -> str:
        """Redo mode: make this transaction's ``journal/working_<id>_temp/``
        directory the staging area of :class:`StagedWriter` objects in other
        processes, and return its token (a str naming HOME: those processes
        must see HOME at the same path). The same token on every call."""
        return self._impl.stage()

    def adopt(self, records, token: str | None = None) -> None:
        """Add staged chunk records (what :meth:`StagedWriter.finish` returned,
        from any process) to this transaction, as write_chunk would: each is
        checked against this transaction's view and its part file; the first
        bad one raises InvalidArgumentError and none is adopted. They become
        visible, with everything else of the transaction, at commit.

        ``token``: a staging directory :meth:`Store.stage` made (perhaps in
        another process) instead of this transaction's own: the transaction
        takes that directory over first (one rename; NotFoundError if another
        transaction took it or recovery removed it). Call it before the
        transaction spills a chunk or calls :meth:`stage`."""
        self._impl.adopt([tuple(r) for r in records], token)

    def savepoint(self) -> Savepoint:
        """A savepoint: :meth:`rollback_to` undoes everything after it."""
        return Savepoint(self._impl.savepoint())

    def rollback_to(self, sp: Savepoint) -> None:
        """Undo everything after ``sp`` (which stays valid); the transaction goes on."""
        self._impl.rollback_to(_savepoint_id(sp))

    def release(self, sp: Savepoint) -> None:
        """Forget ``sp`` and the savepoints after it (their changes stay)."""
        self._impl.release(_savepoint_id(sp))

    def set_message(self, message: str) -> None:
        """A message recorded with the transaction (redo mode: in its journal, shown by pending())."""
        self._impl.set_message(message)

    def set_metadata(self, key: str, value: str) -> None:
        """A key/value recorded with the transaction (redo mode: in its journal)."""
        self._impl.set_metadata(key, value)

    def on_abort(self, fn) -> None:
        """``fn()`` runs if the transaction aborts (explicitly, on error, or when
        collected uncommitted), newest first: restore in-memory state there.
        An exception in ``fn`` is reported like one in ``__del__``."""
        if not callable(fn):
            raise TypeError(f"on_abort needs a callable, not {type(fn).__name__}")
        self._impl.on_abort(fn)

    def hid(self, file: str) -> int:
        """Undo mode: the HDF5 file id of ``file`` inside this transaction (for
        h5py's low-level API: ``h5py.h5f.FileID(tx.hid(f))`` is not safe; prefer
        the h5tx API). Valid until the transaction ends. StateError in redo mode."""
        return self._impl.hid(file)

    def __repr__(self) -> str:
        state = "active" if self.active else "ended"
        return f"<h5tx.Transaction txid={self.txid} snapshot={self.snapshot} ({state})>"


def _savepoint_id(sp) -> int:
    if not isinstance(sp, Savepoint):
        raise TypeError(f"expected an h5tx.Savepoint, not {type(sp).__name__}")
    return sp.id


def _auto_chunks(shape: tuple, itemsize: int) -> tuple:
    """About 1 MiB per chunk: halve the largest dimension until it fits (as the CLI does)."""
    chunks = [max(1, d) for d in shape]
    while _np.prod(chunks, dtype=float) * itemsize > (1 << 20):
        i = max(range(len(chunks)), key=lambda k: chunks[k])
        if chunks[i] == 1:
            break
        chunks[i] = (chunks[i] + 1) // 2
    return tuple(chunks)


# --- staged writing -----------------------------------------------------------------

class StagedWriter:
    """Writes whole chunks into one part file of a staging transaction's
    ``_temp`` directory (see :meth:`Transaction.stage`), in any process,
    without opening the store. One writer per task attempt: its part file
    has a fresh random name. :meth:`finish` syncs the part file and returns
    the chunk records (plain picklable tuples) for :meth:`Transaction.adopt`.
    NotFoundError if the staging directory is gone (its transaction ended,
    or HOME is not on a file system this process sees)."""

    def __init__(self, token: str) -> None:
        self._impl = _lib.StagedWriter(str(token))

    def write_chunk(self, file: str, path: str, spec: dict, coords, data) -> None:
        """One whole raw chunk of the dataset whose spec (as
        ``Transaction.dataset(file, path)`` reports it, a dict with dtype,
        shape, chunks, fillvalue, compression, compression_opts, fletcher32)
        is ``spec``; ``data`` an array of its dtype with the chunk's number of
        elements. The dataset's filters are applied here."""
        want = DTYPES[spec["dtype"]]
        arr = _np.ascontiguousarray(data)
        if arr.dtype != want:
            raise _invalid(f"chunk of dtype {arr.dtype} written to a dataset of dtype {want}", f"{file}:{path}")
        self._impl.write_chunk(file, path, spec["dtype"], list(spec["shape"]), list(spec["chunks"]),
                               float(spec["fillvalue"]), spec["compression"] is not None,
                               int(spec["compression_opts"] or 0), bool(spec["fletcher32"]),
                               list(_shape(coords, "coords")), arr)

    def finish(self) -> list:
        """Sync the part file; the records of every chunk written (then finished)."""
        return self._impl.finish()

    @property
    def part(self) -> str:
        """The part file's name in the staging directory ("" before the first chunk)."""
        return self._impl.part


# --- datasets ---------------------------------------------------------------------

class Dataset:
    """A view of one dataset inside one transaction, sliced like h5py / NumPy.

    ``ds[...]`` reads the whole dataset, ``ds[0:64, :, 5]`` a part (integers
    drop their dimension, slices may have a positive step), ``ds[sel] = arr``
    writes (``arr`` must have the dataset's dtype and the selection's shape or
    broadcast to it; Python scalars and lists are converted if they fit).
    Attributes: ``shape``, ``dtype``, ``chunks``, ``maxshape``, ``fillvalue``,
    ``compression``, ``compression_opts``, ``shuffle``, ``fletcher32``,
    ``ndim``, ``size``, ``attrs``. The view reads its metadata afresh each
    time, so an extend_dataset in the transaction shows at once.
    """

    def __init__(self, tx: Transaction, file: str, path: str) -> None:
        """Use :meth:`Transaction.dataset` or :meth:`Transaction.create_dataset`."""
        self._tx = tx
        self.file = file
        self.name = path

    def _spec(self) -> dict:
        return self._tx._impl.dataset_spec(self.file, self.name)

    @property
    def spec(self) -> dict:
        """The dataset's definition as a plain (picklable) dict: dtype (the
        library's name), shape, maxshape, chunks, fillvalue, compression,
        compression_opts, shuffle, fletcher32. What StagedWriter.write_chunk takes."""
        return dict(self._spec())

    @property
    def shape(self) -> tuple:
        """The current extent."""
        return self._spec()["shape"]

    @property
    def dtype(self) -> _np.dtype:
        """The element type as a NumPy dtype."""
        return DTYPES[self._spec()["dtype"]]

    @property
    def chunks(self) -> tuple:
        """The chunk shape."""
        return self._spec()["chunks"]

    @property
    def maxshape(self) -> tuple:
        """The maximum extent (None: unlimited)."""
        return self._spec()["maxshape"]

    @property
    def fillvalue(self):
        """The fill value (what never-written elements read as)."""
        return DTYPES[self._spec()["dtype"]].type(self._spec()["fillvalue"])

    @property
    def compression(self):
        """"gzip" or None."""
        return self._spec()["compression"]

    @property
    def compression_opts(self):
        """The deflate level, or None."""
        return self._spec()["compression_opts"]

    @property
    def shuffle(self) -> bool:
        """True with compression (h5tx shuffles before deflate)."""
        return self._spec()["shuffle"]

    @property
    def fletcher32(self) -> bool:
        """True if HDF5's Fletcher32 checksum filter is on."""
        return self._spec()["fletcher32"]

    @property
    def ndim(self) -> int:
        """The rank."""
        return len(self.shape)

    @property
    def size(self) -> int:
        """The number of elements."""
        return int(_np.prod(self.shape, dtype=_np.int64))

    @property
    def attrs(self) -> "Attributes":
        """The dataset's attributes."""
        return Attributes(self._tx, self.file, self.name)

    def __len__(self) -> int:
        shape = self.shape
        return shape[0] if shape else 0

    def __array__(self, dtype=None):
        a = self[...]
        return a if dtype is None else a.astype(dtype)

    def __repr__(self) -> str:
        s = self._spec()
        return f"<h5tx.Dataset {self.file}:{self.name} shape {s['shape']} {DTYPES[s['dtype']]} chunks {s['chunks']}>"

    def read_chunk(self, coords) -> _np.ndarray:
        """:meth:`Transaction.read_chunk` of this dataset."""
        return self._tx.read_chunk(self.file, self.name, coords)

    def write_chunk(self, coords, data) -> None:
        """:meth:`Transaction.write_chunk` of this dataset."""
        self._tx.write_chunk(self.file, self.name, coords, data)

    def _select(self, key, shape):
        """(start, box count, steps, result shape, box shape) of a basic-slicing key."""
        where = f"{self.file}:{self.name}"
        if not isinstance(key, tuple):
            key = (key,)
        rank = len(shape)
        if sum(k is Ellipsis for k in key) > 1:
            raise IndexError(f"{where}: an index can only have a single ellipsis ('...')")
        if any(k is Ellipsis for k in key):
            i = next(i for i, k in enumerate(key) if k is Ellipsis)
            key = key[:i] + (slice(None),) * (rank - len(key) + 1) + key[i + 1:]
        if len(key) > rank:
            raise IndexError(f"{where}: too many indices: the dataset has rank {rank}, {len(key)} were given")
        key = key + (slice(None),) * (rank - len(key))
        start, count, steps, out_shape = [], [], [], []
        for dim, (k, n) in enumerate(zip(key, shape)):
            if isinstance(k, (int, _np.integer)) and not isinstance(k, (bool, _np.bool_)):
                i = int(k)
                if i < 0:
                    i += n
                if not 0 <= i < n:
                    raise IndexError(f"{where}: index {int(k)} is out of range for dimension {dim} of extent {n}")
                start.append(i)
                count.append(1)
                steps.append(1)
            elif isinstance(k, slice):
                a, b, s = k.indices(n)
                if s < 1:
                    raise _invalid(f"slice step {s} in dimension {dim}: only positive steps are supported", where)
                m = len(range(a, b, s))
                start.append(a if m else 0)
                count.append((m - 1) * s + 1 if m else 0)
                steps.append(s)
                out_shape.append(m)
            else:
                raise TypeError(f"{where}: index {k!r} is not supported: basic slicing only "
                                f"(integers, slices, ...)")
        return start, count, steps, tuple(out_shape)

    def __getitem__(self, key) -> _np.ndarray:
        s = self._spec()
        dt = DTYPES[s["dtype"]]
        start, count, steps, out_shape = self._select(key, s["shape"])
        if 0 in count:
            return _np.empty(out_shape, dt)
        box = _np.empty(count, dt)
        self._tx._impl.read_into(self.file, self.name, start, count, s["dtype"], box)
        if any(st != 1 for st in steps):
            box = box[tuple(slice(None, None, st) for st in steps)]
        return box.reshape(out_shape)

    def __setitem__(self, key, value) -> None:
        s = self._spec()
        dt = DTYPES[s["dtype"]]
        where = f"{self.file}:{self.name}"
        start, count, steps, out_shape = self._select(key, s["shape"])
        arr = _as_dtype(value, dt, where)
        if arr.shape != out_shape:
            try:
                arr = _np.broadcast_to(arr, out_shape)
            except ValueError:
                raise _invalid(f"an array of shape {arr.shape} cannot be written to a selection of shape "
                               f"{out_shape}", where) from None
        if 0 in count:
            return
        if all(st == 1 for st in steps):
            data = _np.ascontiguousarray(arr).reshape(count)  # no copy when already C-contiguous
        else:  # strided: read-modify-write of the bounding box
            data = _np.empty(count, dt)
            self._tx._impl.read_into(self.file, self.name, start, count, s["dtype"], data)
            sub = tuple(slice(None, None, st) for st in steps)
            data[sub] = arr.reshape(data[sub].shape)
        self._tx._impl.write(self.file, self.name, start, count, s["dtype"], data)


def _as_dtype(value, dt: _np.dtype, where: str) -> _np.ndarray:
    """``value`` as an array of ``dt``: arrays must already have it; scalars and
    lists are converted if every value survives the conversion."""
    if isinstance(value, _np.ndarray):
        if value.dtype != dt:
            raise _invalid(f"an array of dtype {value.dtype} cannot be written to a dataset of dtype {dt} "
                           f"(convert it with .astype(\"{dt.str}\"))", where)
        return value
    src = _np.asarray(value)
    if src.dtype.kind not in "iufb":
        raise _invalid(f"a value of dtype {src.dtype} cannot be written to a dataset of dtype {dt}", where)
    with _np.errstate(all="ignore"):
        out = src.astype(dt)
        if dt.kind in "iu" and src.dtype.kind != "b" and not _np.array_equal(out.astype(src.dtype), src):
            raise _invalid(f"value {value!r} does not fit the dataset's dtype {dt}", where)
    return out


# --- attributes -------------------------------------------------------------------

class Attributes(_abc.MutableMapping):
    """The attributes of one object (the file's root group, a group or a
    dataset) in one transaction: ``attrs["units"] = "counts"``,
    ``attrs["gain"]``, ``del attrs["gain"]``, ``list(attrs)`` (sorted names).

    Values: ``str`` (stored as a UTF-8 string), a number or NumPy scalar
    (scalar attribute), or a 1-D array or list of numbers (one of the ten
    dtypes; Python ints are int64 and floats float64). Reading gives ``str``,
    a NumPy scalar, or a 1-D array; an array of one element reads back as a
    scalar. A missing name is a KeyError.
    """

    def __init__(self, tx: Transaction, file: str, object: str) -> None:
        """Use :meth:`Transaction.attrs` or :attr:`Dataset.attrs`."""
        self._tx = tx
        self.file = file
        self.object = object

    def __getitem__(self, name: str):
        try:
            dtype, value, is_string = self._tx._impl.get_attribute(self.file, self.object, name)
        except NotFoundError as e:
            raise KeyError(name) from e
        if is_string:
            return value
        arr = _np.frombuffer(value, DTYPES[dtype]).copy()
        return arr[0] if arr.size == 1 else arr

    def __setitem__(self, name: str, value) -> None:
        impl = self._tx._impl
        where = f"{self.file}:{self.object}@{name}"
        if isinstance(value, bytes):
            try:
                value = value.decode("utf-8")
            except UnicodeDecodeError:
                raise _invalid("bytes attribute values must be UTF-8 text", where) from None
        if isinstance(value, str) or (isinstance(value, _np.ndarray) and value.dtype.kind == "U" and value.ndim == 0):
            impl.set_attribute_string(self.file, self.object, name, str(value))
            return
        arr = _np.asarray(value)
        if arr.dtype.kind not in "iuf":
            raise _invalid(f"attribute values are strings or numbers, not {type(value).__name__} "
                           f"(dtype {arr.dtype})", where)
        if arr.ndim > 1:
            raise _invalid(f"attributes are scalars or 1-D, not of shape {arr.shape}", where)
        if arr.size == 0:
            raise _invalid("an attribute needs at least one value", where)
        dname = _dtype_name(arr.dtype, "attribute dtype")
        impl.set_attribute_numbers(self.file, self.object, name, dname,
                                   _np.ascontiguousarray(arr.reshape(-1), DTYPES[dname]))

    def __delitem__(self, name: str) -> None:
        try:
            self._tx._impl.delete_attribute(self.file, self.object, name)
        except NotFoundError as e:
            raise KeyError(name) from e

    def __iter__(self):
        return iter(self._tx._impl.list_attributes(self.file, self.object))

    def __len__(self) -> int:
        return len(self._tx._impl.list_attributes(self.file, self.object))

    def __contains__(self, name) -> bool:
        return name in self._tx._impl.list_attributes(self.file, self.object)

    def __repr__(self) -> str:
        return f"<h5tx.Attributes of {self.file}:{self.object}: {list(self)}>"


# --- backup, restore, replication (docs/python.md) -----------------------------

#: What a backup, restore or replication did: the txid the destination now
#: holds the source as of, the one it started from, and how many
#: transactions and bytes it copied or applied.
BackupResult = _collections.namedtuple("BackupResult", "txid from_txid transactions bytes")
#: A retention slot of a store: its name, txid, the bytes of archived
#: transactions it pins, and whether its file is damaged (then it pins everything).
Slot = _collections.namedtuple("Slot", "name txid pinned_bytes damaged")


def backup(home, dest, *, incremental: bool = False, stream: bool = False, slot: str = "backup",
           no_slot: bool = False, lock_timeout: float = 10.0) -> BackupResult:
    """Online, transaction-consistent backup of the redo-mode store ``home``
    while writers run. Full: ``dest`` (a new directory) becomes a store equal to
    ``home`` as of ``result.txid``; with ``stream=True`` the same full backup is
    written as one new stream file ``dest`` (``restore`` takes either).
    ``incremental=True``: ``dest`` is a new stream
    file of the transactions committed since the retention slot's txid. Either
    way the slot ``slot`` moves to ``result.txid`` (a full backup with
    ``no_slot=True`` leaves the slots alone)."""
    if incremental and stream:
        raise InvalidArgumentError(f"{dest}: incremental and stream exclude each other")
    return BackupResult(*_lib.backup(str(home), str(dest), bool(incremental), bool(stream), str(slot),
                                     bool(no_slot), float(lock_timeout)))


def restore(dest, full, incrementals=(), *, to: int | None = None, lock_timeout: float = 10.0) -> BackupResult:
    """Rebuild a store in ``dest`` (new) from a full backup (a directory, or a
    stream file from ``backup(..., stream=True)``) and incremental streams in order, up to their end or to txid ``to``. Every
    stream is checked whole first: a damaged one raises CorruptionError naming
    the transaction, and nothing is made."""
    return BackupResult(*_lib.restore(str(dest), str(full), [str(i) for i in incrementals], int(to or 0),
                                      float(lock_timeout)))


def replicate(home, replica, *, slot: str = "replica", follow: bool = False, stop=None, poll_ms: int = 20,
              lock_timeout: float = 10.0) -> BackupResult:
    """Bring ``replica`` up to ``home`` (made by a full backup if it does not
    exist). ``follow=True`` keeps applying transactions as they commit, every
    ``poll_ms`` ms, until ``stop`` is set: a ``threading.Event`` (or anything
    with ``is_set()``) or a callable returning True to stop; run it in a
    thread (``follow=True`` without ``stop`` is refused). The replica opens
    read-only meanwhile. The result is the replica's position at the end."""
    if follow and stop is None:
        raise InvalidArgumentError(f"{replica}: replicate(follow=True) needs stop= (an Event or a callable)")
    keep_going = None
    if stop is not None:
        is_set = stop.is_set if hasattr(stop, "is_set") else stop
        keep_going = lambda: not is_set()  # noqa: E731
    return BackupResult(*_lib.replicate(str(home), str(replica), str(slot), float(lock_timeout), bool(follow),
                                        keep_going, int(poll_ms)))


def promote(replica) -> None:
    """Make a replica an ordinary writable store."""
    _lib.promote(str(replica))


def position(store) -> int:
    """The newest txid a backup, restored store or replica holds from its source."""
    return _lib.position(str(store))


def slots(home) -> list:
    """The retention slots of ``home`` (:class:`Slot` each)."""
    return [Slot(*s) for s in _lib.list_slots(str(home))]


def drop_slot(home, name: str) -> None:
    """Remove a retention slot and the archived transactions only it needed."""
    _lib.drop_slot(str(home), str(name))
