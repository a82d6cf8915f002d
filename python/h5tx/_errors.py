"""The exception hierarchy of h5tx, mirroring the C++ one (include/h5tx/error.hpp).

Every error the library reports is an :class:`Error`; the subclass says the
category. The compiled module raises these classes (it imports this module
when it loads).
"""

from __future__ import annotations

__all__ = [
    "Error", "IoError", "CorruptionError", "ConflictError", "BusyError",
    "InvalidArgumentError", "NotFoundError", "AlreadyExistsError",
    "UnsupportedError", "Hdf5Error", "StateError",
]


class Error(Exception):
    """Base of every h5tx error.

    ``str(e)`` is the whole line (``category: path: message``). Attributes:
    ``path`` (the file or object involved, ``""`` if none), ``message`` (the
    bare message), ``errno`` (of a failed system call, else 0) and ``code``
    (the category as the C++ library names it, e.g. ``"conflict"``).
    """

    def __init__(self, what: str, path: str = "", message: str | None = None,
                 errno: int = 0, code: str = "") -> None:
        super().__init__(what)
        self.path = path
        self.message = what if message is None else message
        self.errno = errno
        self.code = code


class IoError(Error):
    """The operating system refused or failed an I/O call (EIO, ENOSPC, fsync)."""


class CorruptionError(Error):
    """On-disk data fails a checksum or does not parse."""


class ConflictError(Error):
    """Another transaction committed a write to the same chunk, dataset or
    attribute after this transaction's snapshot; nothing of this one is visible."""


class BusyError(Error):
    """A lock is held by another transaction or process (after the timeout)."""


class InvalidArgumentError(Error, ValueError):
    """The caller asked for something that makes no sense (also a ValueError)."""


class NotFoundError(Error, LookupError):
    """A file, dataset, attribute, chunk or transaction does not exist (also a LookupError)."""


class AlreadyExistsError(Error):
    """Create of something that exists."""


class UnsupportedError(Error):
    """Something h5tx does not handle (a newer store format, an attribute of rank 2, ...)."""


class Hdf5Error(Error):
    """The HDF5 library reported an error; the message holds HDF5's error stack."""


class StateError(Error):
    """The call is not valid in the object's state: a closed store, an ended
    transaction, a write in a read-only transaction."""
