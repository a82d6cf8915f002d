"""The original sec2j driver's Python names, for bare HDF5 files opened with h5py.

The h5tx undo driver serves the C names of the H5FD_sec2j driver
(include/h5tx/sec2j.h); this module takes h5py's integer ids::

    import h5py
    from h5tx import sec2j

    sec2j.init()
    fapl = h5py.h5p.create(h5py.h5p.FILE_ACCESS)
    sec2j.set_fapl(fapl.id)                      # journal: "<file>.journal"
    fid = h5py.h5f.open(b"data.h5", h5py.h5f.ACC_RDWR, fapl=fapl)
    f = h5py.File(fid)
    sec2j.tx_start(fid.id)
    f.create_group("bbic/volume/0").attrs["width"] = 640
    sec2j.tx_end(fid.id)                         # durable when it returns

A process that dies between tx_start and tx_end leaves the journal; the next
read-write open through the driver, or :func:`recover`, puts the file back
as it was before tx_start. Every failure raises :class:`h5tx.Error` (an
:class:`h5tx.Hdf5Error` with HDF5's error stack), never a silent -1.
"""

from __future__ import annotations

import os as _os
import re as _re

from ._errors import Hdf5Error, UnsupportedError
from . import _h5tx as _lib

__all__ = ["init", "term", "set_fapl", "tx_start", "tx_end", "tx_abort", "recover"]

_checked = False


def _id(value, what: str) -> int:
    """An HDF5 id: an int, or an h5py object whose ``.id`` is one."""
    if hasattr(value, "id") and not isinstance(value, int):
        value = value.id
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{what} must be an integer HDF5 id (h5py: fapl.id, fid.id), "
                        f"not {type(value).__name__} {value!r}")
    return value


def _hdf5_libraries(maps: str) -> set:
    """The HDF5 core libraries (not the high-level ones) mapped, by real path."""
    out = set()
    for line in maps.splitlines():
        parts = line.split(None, 5)
        if len(parts) < 6:
            continue
        path = parts[5].strip()
        name = _os.path.basename(path)
        if _re.match(r"libhdf5(?!_hl|_serial_hl|_openmpi_hl|_mpich_hl)[A-Za-z0-9_]*(-[0-9a-f]+)?\.so", name):
            out.add(_os.path.realpath(path) if _os.path.exists(path) else path)
    return out


def _check_hdf5(h5py_version: str | None, maps: str | None, own_library: str, loaded_version: str) -> None:
    """Raise UnsupportedError unless h5py and h5tx share one HDF5 library.

    ``h5py_version``: the HDF5 version h5py reports (None: h5py not loaded);
    ``maps``: /proc/self/maps (None: not available); ``own_library``: the
    HDF5 library h5tx is linked with; ``loaded_version``: its version.
    """
    if h5py_version is not None and h5py_version != loaded_version:
        msg = (f"h5py uses HDF5 {h5py_version} but h5tx was built against HDF5 {loaded_version} "
               f"({own_library}): the ids h5py hands out belong to another HDF5 library. Use an h5py "
               f"built against the same libhdf5 (Debian: python3-h5py with libhdf5-dev), not a pip wheel")
        raise UnsupportedError("unsupported: " + msg, own_library, msg)
    if maps is not None:
        libs = _hdf5_libraries(maps)
        own = _os.path.realpath(own_library) if own_library else ""
        others = sorted(p for p in libs if p != own)
        if own and others:
            msg = (f"two HDF5 libraries are loaded in this process: {own} (h5tx's) and "
                   f"{', '.join(others)} (h5py's or another module's); ids of one mean nothing to the "
                   f"other. Use an h5py built against {own} (Debian: python3-h5py), not a pip wheel")
            raise UnsupportedError("unsupported: " + msg, own, msg)


def init() -> int:
    """Register the driver (once) and return its id.

    First checks that the HDF5 library h5py uses (if h5py is importable) is
    the one h5tx is linked with, by version and by the shared object mapped in
    this process; raises :class:`h5tx.UnsupportedError` saying which libraries
    differ otherwise.
    """
    global _checked
    if not _checked:
        try:
            import h5py  # noqa: F401  (loads h5py's libhdf5, if it has its own)
            h5py_version = h5py.version.hdf5_version
        except ImportError:
            h5py_version = None
        try:
            with open("/proc/self/maps") as f:
                maps = f.read()
        except OSError:
            maps = None
        _check_hdf5(h5py_version, maps, _lib.hdf5_library_path(), _lib.hdf5_version_loaded())
        _checked = True
    return _lib.sec2j_init()


def term() -> None:
    """Unregister the driver (files still open keep working until closed)."""
    _lib.sec2j_term()


def set_fapl(fapl_id, journal: str | None = None) -> None:
    """Select the driver on a file access property list (h5py: ``fapl.id``).
    The journal is ``"<file>.journal"``, or ``journal`` if given."""
    fapl = _id(fapl_id, "fapl_id")
    if journal is not None and not isinstance(journal, (str, bytes, _os.PathLike)):
        raise TypeError(f"journal must be a path, not {type(journal).__name__}")
    _lib.sec2j_set_fapl(fapl, "" if journal is None else _os.fsdecode(journal))


def tx_start(file_id) -> None:
    """Flush the file and start a (nestable) transaction (h5py: ``fid.id``)."""
    _lib.sec2j_tx_start(_id(file_id, "file_id"))


def tx_end(file_id) -> None:
    """Flush the file and end the innermost transaction; the outermost one is
    durable when this returns."""
    _lib.sec2j_tx_end(_id(file_id, "file_id"))


def tx_abort(file_id) -> None:
    """Revert the innermost transaction. The file then holds its
    pre-transaction bytes and HDF5's caches are stale: close the file (h5py:
    ``f.close()``) and open it again before using it."""
    _lib.sec2j_tx_abort(_id(file_id, "file_id"))


def recover(path, journal=None) -> bool:
    """Revert the pending journal of a closed file (journal: ``"<path>.journal"``
    if None). True if something was reverted, False if there was nothing to do.
    Fails (:class:`h5tx.Error`) while another process has the file open."""
    if not isinstance(path, (str, bytes, _os.PathLike)):
        raise TypeError(f"path must be a path, not {type(path).__name__}")
    if journal is not None and not isinstance(journal, (str, bytes, _os.PathLike)):
        raise TypeError(f"journal must be a path, not {type(journal).__name__}")
    return _lib.sec2j_recover(_os.fsdecode(path), "" if journal is None else _os.fsdecode(journal)) == 1


# Hdf5Error is what the calls raise; re-exported for `except sec2j.Hdf5Error`.
Hdf5Error = Hdf5Error
