"""h5tx.sec2j with h5py: the seed's scenario in Python 3 (a group and an
attribute inside a transaction, os._exit in a child, the reopened file shows
the pre-transaction state with the driver and with plain h5py after
recovery), the committed case, tx_abort, and bad input."""

import os

import h5py
import numpy as np
import pytest

import h5tx
from h5tx import sec2j
from conftest import run_child

SEED = """
import os, sys
import h5py
from h5tx import sec2j
path, end = sys.argv[1], sys.argv[2]
sec2j.init()
fapl = h5py.h5p.create(h5py.h5p.FILE_ACCESS)
sec2j.set_fapl(fapl.id)
fid = h5py.h5f.open(path.encode(), h5py.h5f.ACC_RDWR, fapl=fapl)
f = h5py.File(fid)
sec2j.tx_start(fid.id)
g = f.create_group("bbic/volume/0")
g.attrs["width"] = 640
f["d"][...] = 9
f.flush()
if end == "crash":
    os._exit(3)
sec2j.tx_end(fid.id)
os._exit(4)    # committed: no close needed
"""


# 24 MiB: more than the driver's 16 MiB write buffer, so the transaction's
# writes reach the data file (after the journal is synced) before the crash.
N = 6 << 20


def make_file(path):
    with h5py.File(path, "w") as f:
        f.create_dataset("d", data=np.arange(N, dtype="u4"))


def open_with_driver(path, mode=h5py.h5f.ACC_RDONLY):
    sec2j.init()
    fapl = h5py.h5p.create(h5py.h5p.FILE_ACCESS)
    sec2j.set_fapl(fapl.id)
    return h5py.File(h5py.h5f.open(str(path).encode(), mode, fapl=fapl))


def test_seed_crash_reverts_with_the_driver(tmp_path):
    path = tmp_path / "seed.h5"
    make_file(path)
    run_child(SEED, path, "crash", expect_status=3)
    assert os.path.exists(str(path) + ".journal")
    with open_with_driver(path, h5py.h5f.ACC_RDWR) as f:   # a read-write open reverts
        assert "bbic" not in f
        np.testing.assert_array_equal(f["d"][...], np.arange(N, dtype="u4"))
    assert not os.path.exists(str(path) + ".journal")
    with h5py.File(path, "r") as f:                        # and plain h5py agrees
        assert "bbic" not in f
        np.testing.assert_array_equal(f["d"][...], np.arange(N, dtype="u4"))


def test_seed_crash_reverts_with_recover_then_plain_h5py(tmp_path):
    path = tmp_path / "seed.h5"
    make_file(path)
    run_child(SEED, path, "crash", expect_status=3)
    with open_with_driver(path) as f:                      # read-only: pre-transaction view
        assert "bbic" not in f
    assert sec2j.recover(str(path)) is True
    assert sec2j.recover(str(path)) is False               # nothing left to do
    with h5py.File(path, "r") as f:
        assert "bbic" not in f
        np.testing.assert_array_equal(f["d"][...], np.arange(N, dtype="u4"))


def test_seed_committed(tmp_path):
    path = tmp_path / "seed.h5"
    make_file(path)
    run_child(SEED, path, "commit", expect_status=4)
    with open_with_driver(path, h5py.h5f.ACC_RDWR) as f:
        assert f["bbic/volume/0"].attrs["width"] == 640
        assert (f["d"][...] == 9).all()
    with h5py.File(path, "r") as f:
        assert f["bbic/volume/0"].attrs["width"] == 640


def test_tx_abort(tmp_path):
    path = tmp_path / "a.h5"
    make_file(path)
    f = open_with_driver(path, h5py.h5f.ACC_RDWR)
    sec2j.tx_start(f.id.id)
    f.create_group("gone").attrs["x"] = 1
    f["d"][...] = 0
    f.flush()
    sec2j.tx_abort(f.id.id)
    f.close()
    with open_with_driver(path) as f:
        assert "gone" not in f
        np.testing.assert_array_equal(f["d"][...], np.arange(N, dtype="u4"))
    # nested transactions, by object too (h5py ObjectID has .id)
    f = open_with_driver(path, h5py.h5f.ACC_RDWR)
    sec2j.tx_start(f.id)
    f.create_group("outer")
    sec2j.tx_start(f.id)
    f.create_group("inner")
    sec2j.tx_end(f.id)
    sec2j.tx_end(f.id)
    f.close()
    with h5py.File(path, "r") as f:
        assert "outer" in f and "inner" in f


def test_bad_input_raises(tmp_path):
    sec2j.init()
    for bad in ("12", 1.5, None, [3], True):
        with pytest.raises(TypeError, match="integer HDF5 id"):
            sec2j.tx_start(bad)
        with pytest.raises(TypeError):
            sec2j.set_fapl(bad)
    with pytest.raises(h5tx.Hdf5Error) as e:               # not a file id: HDF5's stack, not -1
        sec2j.tx_start(123456789)
    assert isinstance(e.value, h5tx.Error)
    assert "H5FD_sec2j_tx_start" in str(e.value) and "#0" in str(e.value)
    fapl = h5py.h5p.create(h5py.h5p.FILE_ACCESS)
    with pytest.raises(h5tx.Hdf5Error):
        sec2j.tx_start(fapl.id)                            # a property list is not a file
    path = tmp_path / "x.h5"
    make_file(path)
    with open(str(path) + ".journal", "wb") as j:
        j.write(b"garbage" * 100)
    with pytest.raises(h5tx.Error) as e:
        sec2j.recover(str(path))
    assert "journal" in str(e.value) and "H5FD_sec2j_recover" in str(e.value)
    with pytest.raises(TypeError):
        sec2j.recover(42)


def test_init_refuses_another_hdf5():
    own = "/usr/lib/x86_64-linux-gnu/libhdf5_serial.so.103"
    maps_one = f"7f00-7f01 r-xp 0 08:01 1 {own}\n7f02-7f03 r-xp 0 08:01 2 /usr/lib/libhdf5_serial_hl.so.100\n"
    sec2j._check_hdf5("1.10.8", maps_one, own, "1.10.8")   # one library: fine
    with pytest.raises(h5tx.UnsupportedError, match="h5py uses HDF5 1.14.2 but h5tx was built against HDF5 1.10.8"):
        sec2j._check_hdf5("1.14.2", maps_one, own, "1.10.8")
    wheel = "/venv/lib/python3.11/site-packages/h5py.libs/libhdf5-5ab2c.so.310.2.0"
    with pytest.raises(h5tx.UnsupportedError, match="two HDF5 libraries are loaded"):
        sec2j._check_hdf5("1.10.8", maps_one + f"7f04-7f05 r-xp 0 08:01 3 {wheel}\n", own, "1.10.8")
    # and in this process, with Debian's h5py, the real check passes
    assert sec2j.init() >= 0
