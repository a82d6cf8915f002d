// Issue 13: batch ingest as a user compares it. One uint8 volume (a .npy of
// i1_mib MiB, shape (n, 512, 512), 64x64x64 chunks, Fletcher32 on every
// side) written by:
//   h5tx-cli-redo/-undo  the real CLI binary (bin/h5tx next to h5tx-bench):
//                        `h5tx init`, then `h5tx ingest --from vol.npy`,
//                        whose close flushes (redo); both processes timed
//   h5py                 /usr/bin/python3: np.load, ds[...] = arr into a
//                        chunked dataset with the same filters, close, one fsync
//   hdf5-c               this process: H5Dwrite of slabs of chunk rows read
//                        from the .npy, same filters, close, one fsync
// (I1: no compression; I1z: shuffle + deflate:4 as well), the Python
// package against the C++ API on the same slabs (I1py), the CLI ingest at
// growing sizes (SCALE), `h5tx check` against reading every chunk with
// h5py (CHECK), and (issue 17, DASK1/DASK2) storing a dask array of dask_mib
// MiB from a distributed.LocalCluster of 1 or 2 worker processes: the usual
// h5py way (dask.array.store into one HDF5 file, each task reopening it
// under a distributed.Lock) against h5tx.dask.store in both modes, flushed
// into data/. The processes doing the work are children; their peak RSS
// is wait4's ru_maxrss.
#include <dirent.h>
#include <fcntl.h>
#include <hdf5.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>

#include "bench.hpp"
#include "h5tx/error.hpp"
#include "h5tx/store.hpp"

namespace h5tx {
namespace bench {

namespace {

constexpr uint64_t kPlane = 512;  // the volume is (n, 512, 512)
constexpr uint64_t kChunk = 64;   // 64x64x64 chunks
constexpr const char* kPython = "/usr/bin/python3";

std::string bin_dir() {
  char buf[4096];
  ssize_t n = ::readlink("/proc/self/exe", buf, sizeof buf - 1);
  if (n <= 0) throw IoError("/proc/self/exe", "readlink failed", errno);
  std::string exe(buf, size_t(n));
  return exe.substr(0, exe.rfind('/'));
}

std::string h5tx_binary() {
  std::string p = bin_dir() + "/h5tx";
  if (::access(p.c_str(), X_OK) != 0) throw NotFoundError(p, "h5tx CLI binary not built");
  return p;
}

// build/python (the package built next to bin/), or throws "package not built".
std::string python_package_dir() {
  std::string dir = bin_dir() + "/../python";
  std::string pkg = dir + "/h5tx";
  if (DIR* d = ::opendir(pkg.c_str())) {
    bool found = false;
    while (dirent* e = ::readdir(d))
      if (std::strncmp(e->d_name, "_h5tx", 5) == 0 && std::strstr(e->d_name, ".so")) found = true;
    ::closedir(d);
    if (found) return dir;
  }
  throw NotFoundError(pkg, "Python package not built (no _h5tx module)");
}

uint64_t planes_of(uint64_t mib) {
  return std::max<uint64_t>(1, mib * MiB / (kPlane * kPlane));
}

// One plane z of the volume: a smooth ramp plus 3 bits of noise, so that
// shuffle+deflate compresses it (about 2x) but not to nothing.
void make_plane(uint64_t z, uint8_t* out) {
  uint64_t x = 0x9e3779b97f4a7c15ull ^ (z * 0xbf58476d1ce4e5b9ull);
  for (uint64_t y = 0; y < kPlane; y++) {
    for (uint64_t c = 0; c < kPlane; c += 8) {
      x ^= x << 13;
      x ^= x >> 7;
      x ^= x << 17;
      for (uint64_t k = 0; k < 8; k++)
        out[y * kPlane + c + k] = uint8_t(((c + k) / 4 + y / 4 + z / 4) + ((x >> (8 * k)) & 7));
    }
  }
}

// Writes the .npy volume of `planes` planes (untimed setup) and fsyncs it.
// Returns the header length (data offset).
uint64_t write_volume(const std::string& path, uint64_t planes) {
  std::string dict = "{'descr': '|u1', 'fortran_order': False, 'shape': (" + std::to_string(planes) + ", " +
                     std::to_string(kPlane) + ", " + std::to_string(kPlane) + "), }";
  size_t total = 10 + dict.size() + 1;
  size_t padded = (total + 63) / 64 * 64;
  dict.append(padded - total, ' ');
  dict += '\n';
  std::string header = std::string("\x93NUMPY\x01\x00", 8);
  header += char(dict.size() & 0xff);
  header += char(dict.size() >> 8);
  header += dict;
  Fd fd(path, O_WRONLY | O_CREAT | O_TRUNC);
  pwrite_all(fd.get(), header.data(), header.size(), 0, path);
  std::vector<uint8_t> slab(kChunk * kPlane * kPlane);
  uint64_t off = header.size();
  for (uint64_t z = 0; z < planes; z += kChunk) {
    uint64_t n = std::min(kChunk, planes - z);
    for (uint64_t k = 0; k < n; k++) make_plane(z + k, slab.data() + k * kPlane * kPlane);
    pwrite_all(fd.get(), slab.data(), n * kPlane * kPlane, off, path);
    off += n * kPlane * kPlane;
  }
  if (::fsync(fd.get()) != 0) throw IoError(path, "fsync failed", errno);
  return header.size();
}

struct ProcessRun {
  double seconds = 0;
  double rss_mib = 0;  // ru_maxrss
  std::string output;  // stdout + stderr
};

// Runs argv with stdout and stderr to `log` (extra environment `env`,
// NAME=VALUE), waits for it with wait4. Throws with the output's tail if
// it fails.
ProcessRun run_process(const std::vector<std::string>& argv_s, const std::string& log,
                       const std::vector<std::string>& env = {}) {
  std::vector<char*> argv;
  std::vector<std::string> args = argv_s;
  for (auto& s : args) argv.push_back(&s[0]);
  argv.push_back(nullptr);
  std::fflush(nullptr);
  double t0 = now_seconds();
  pid_t pid = ::fork();
  if (pid < 0) throw IoError(args[0], "fork failed", errno);
  if (pid == 0) {
    int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd >= 0) {
      ::dup2(fd, 1);
      ::dup2(fd, 2);
      ::close(fd);
    }
    for (const auto& e : env) ::putenv(const_cast<char*>(e.c_str()));
    ::execv(argv[0], argv.data());
    std::fprintf(stderr, "exec %s: %s\n", argv[0], std::strerror(errno));
    ::_exit(127);
  }
  int status = 0;
  struct rusage ru;
  while (::wait4(pid, &status, 0, &ru) < 0) {
    if (errno != EINTR) throw IoError(args[0], "wait4 failed", errno);
  }
  ProcessRun r;
  r.seconds = now_seconds() - t0;
  r.rss_mib = double(ru.ru_maxrss) / 1024.0;
  std::ifstream in(log);
  std::stringstream ss;
  ss << in.rdbuf();
  r.output = ss.str();
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    std::string tail = r.output.size() > 600 ? r.output.substr(r.output.size() - 600) : r.output;
    throw StateError(args[0], "exited with status " + std::to_string(status) + ": " + tail);
  }
  return r;
}

// The first number after `key` in `text`, or NaN.
double number_after(const std::string& text, const std::string& key) {
  size_t p = text.find(key);
  if (p == std::string::npos) return NAN;
  return std::strtod(text.c_str() + p + key.size(), nullptr);
}

// h5py writes the array like a user would: one assignment, then one fsync.
// "seconds": from after the imports to the end of the fsync.
const char* kH5pyWrite = R"(import os, sys, time
import numpy as np, h5py
t0 = time.perf_counter()
src, dst, comp = sys.argv[1:4]
arr = np.load(src)
kw = dict(chunks=(64, 64, 64), fletcher32=True)
if comp == "deflate":
    kw.update(compression="gzip", compression_opts=4, shuffle=True)
with h5py.File(dst, "w") as f:
    ds = f.create_dataset("v", shape=arr.shape, dtype=arr.dtype, **kw)
    ds[...] = arr
fd = os.open(dst, os.O_RDONLY)
os.fsync(fd)
os.close(fd)
print("seconds", time.perf_counter() - t0)
)";

// The Python package: a store, one transaction per slab of chunk rows
// (ds[z:z+64] = arr[z:z+64], blind writes), close (flushes). Timed from
// Store.create to the end of close, the array already in memory.
const char* kPythonIngest = R"(import sys, time
import numpy as np, h5tx
src, home, mode = sys.argv[1:4]
arr = np.load(src)
t0 = time.perf_counter()
store = h5tx.Store.create(home, mode=mode)
with store.begin() as tx:
    tx.create_file("vol.h5")
    tx.create_dataset("vol.h5", "/v", shape=arr.shape, dtype="u1", chunks=(64, 64, 64), fletcher32=True)
for z in range(0, arr.shape[0], 64):
    with store.begin(check_conflicts=False) as tx:
        tx.dataset("vol.h5", "/v")[z:z + 64] = arr[z:z + 64]
store.close()
print("seconds", time.perf_counter() - t0)
)";

// Reads every chunk once (slabs of chunk rows) with h5py, checksums verified.
// "seconds": after the imports.
const char* kH5pyRead = R"(import sys, time
import h5py
t0 = time.perf_counter()
with h5py.File(sys.argv[1], "r") as f:
    ds = f[sys.argv[2]]
    total = 0
    for z in range(0, ds.shape[0], 64):
        total += int(ds[z:z + 64].size)
print("seconds", time.perf_counter() - t0, "bytes", total)
)";

// Issue 17: one dask store of argv[3] MiB (u4, blocks of 8 MiB, 1 MiB HDF5
// chunks) on a LocalCluster of argv[2] worker processes. "seconds": from
// the cluster being up (workers warm, modules imported) to the data being
// in the HDF5 file: h5py-lock closes it, h5tx flushes its store.
const char* kDaskStore = R"(import sys, time
import numpy as np, dask.array as da, distributed, h5py
import h5tx, h5tx.dask
COLS, BLOCK, CHUNK = 1024, 2048, 256

def gen(block_info=None):
    (r0, r1), _ = block_info[None]["array-location"]
    return np.arange(r0, r1, dtype="<u4")[:, None] * COLS + np.arange(COLS, dtype="<u4")

class H5pyTarget:  # the usual way: h5py objects do not pickle, so each task reopens the file
    def __init__(self, path):
        self.path = path
    def __setitem__(self, key, value):
        with h5py.File(self.path, "r+") as f:
            f["/x"][key] = value

def main():
    variant, workers, mib, scratch = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
    rows = max(BLOCK, mib * 256 // BLOCK * BLOCK)
    x = da.map_blocks(gen, dtype="<u4", chunks=((BLOCK,) * (rows // BLOCK), (COLS,)))
    with distributed.LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                                  dashboard_address=None, silence_logs=50) as cluster, \
            distributed.Client(cluster) as client:
        client.run(lambda: __import__("h5tx.dask") and __import__("h5py"))
        t0 = time.perf_counter()
        if variant == "h5py-lock":
            path = scratch + "/plain.h5"
            with h5py.File(path, "w") as f:
                f.create_dataset("/x", shape=x.shape, dtype="<u4", chunks=(CHUNK, COLS))
            da.store(x, H5pyTarget(path), lock=distributed.Lock("h5py-bench"))
        else:
            home = scratch + "/store"
            h5tx.Store.create(home).close()
            h5tx.dask.store(x, home, "x.h5", "/x", atomic=variant == "h5tx-atomic", chunks=(CHUNK, COLS))
            with h5tx.Store.open(home) as s:
                s.flush()
            path = home + "/data/x.h5"
        secs = time.perf_counter() - t0
    with h5py.File(path, "r") as f:
        assert int(f["/x"][rows - 1, COLS - 1]) == rows * COLS - 1
    print("seconds", secs, "bytes", rows * COLS * 4)


if __name__ == "__main__":  # the workers are spawned: they import this file
    main()
)";

std::string write_script(const std::string& dir, const char* name, const char* text) {
  std::string path = dir + "/" + name;
  std::ofstream(path) << text;
  return path;
}

Result ingest_result(uint64_t bytes, double seconds, double rss_mib) {
  Result r;
  report_throughput(&r, 1, bytes, seconds);
  r.metrics["rss_mib"] = rss_mib;
  r.metrics["s_per_gib"] = seconds / (double(bytes) / double(1 << 30));
  return r;
}

// `h5tx init` + `h5tx ingest` (+ flush at close) of a fresh volume of `mib` MiB.
Result cli_ingest(const Context& c, uint64_t mib, bool undo, bool deflate) {
  std::string h5tx = h5tx_binary();
  std::string npy = c.scratch + "/vol.npy";
  uint64_t planes = planes_of(mib);
  write_volume(npy, planes);
  std::string home = c.scratch + "/store";
  std::vector<std::string> init = {h5tx, "init", home};
  if (undo) init.insert(init.end(), {"--mode", "undo"});
  std::vector<std::string> ingest = {h5tx,      "ingest",   home,        "vol.h5:/v",           "--from", npy,
                                     "--chunk", "64,64,64", "--verbose", "--progress-interval", "1000000"};
  if (deflate) ingest.insert(ingest.end(), {"--compress", "deflate:4"});
  ::sync();
  ProcessRun a = run_process(init, c.scratch + "/init.log");
  ProcessRun b = run_process(ingest, c.scratch + "/ingest.log");
  uint64_t bytes = planes * kPlane * kPlane;
  Result r = ingest_result(bytes, a.seconds + b.seconds, b.rss_mib);
  r.metrics["ingest_process_seconds"] = b.seconds;
  if (std::getenv("H5TX_BENCH_SHOW_CLI")) std::fprintf(stderr, "%s", b.output.c_str());
  return r;
}

Result h5py_write(const Context& c, bool deflate) {
  std::string npy = c.scratch + "/vol.npy";
  uint64_t planes = planes_of(c.sizes.i1_mib);
  write_volume(npy, planes);
  std::string script = write_script(c.scratch, "write.py", kH5pyWrite);
  ::sync();
  ProcessRun p = run_process({kPython, script, npy, c.scratch + "/out.h5", deflate ? "deflate" : "none"},
                             c.scratch + "/h5py.log");
  Result r = ingest_result(planes * kPlane * kPlane, p.seconds, p.rss_mib);
  r.metrics["in_script_seconds"] = number_after(p.output, "seconds ");
  return r;
}

void check(herr_t rc, const char* what) {
  if (rc < 0) throw Hdf5Error("", std::string(what) + " failed");
}
hid_t check_id(hid_t id, const char* what) {
  if (id < 0) throw Hdf5Error("", std::string(what) + " failed");
  return id;
}

// Plain HDF5 C: H5Dwrite of slabs of chunk rows (each a whole row of
// chunks) read from the .npy, the same filters as h5py, one fsync.
Result hdf5_write(const Context& c, bool deflate) {
  std::string npy = c.scratch + "/vol.npy";
  uint64_t planes = planes_of(c.sizes.i1_mib);
  uint64_t header = write_volume(npy, planes);
  std::string out = c.scratch + "/out.h5";
  ::sync();
  double t0 = now_seconds();
  Fd in(npy, O_RDONLY);
  hid_t f = check_id(H5Fcreate(out.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT), "H5Fcreate");
  hsize_t dims[3] = {planes, kPlane, kPlane};
  hsize_t cdims[3] = {std::min(kChunk, planes), kChunk, kChunk};
  hid_t space = check_id(H5Screate_simple(3, dims, nullptr), "H5Screate_simple");
  hid_t dcpl = check_id(H5Pcreate(H5P_DATASET_CREATE), "H5Pcreate");
  check(H5Pset_chunk(dcpl, 3, cdims), "H5Pset_chunk");
  if (deflate) {
    check(H5Pset_shuffle(dcpl), "H5Pset_shuffle");
    check(H5Pset_deflate(dcpl, 4), "H5Pset_deflate");
  }
  check(H5Pset_fletcher32(dcpl), "H5Pset_fletcher32");
  hid_t d = check_id(H5Dcreate2(f, "/v", H5T_STD_U8LE, space, H5P_DEFAULT, dcpl, H5P_DEFAULT), "H5Dcreate2");
  std::vector<uint8_t> slab(kChunk * kPlane * kPlane);
  for (uint64_t z = 0; z < planes; z += kChunk) {
    uint64_t n = std::min(kChunk, planes - z);
    size_t bytes = n * kPlane * kPlane;
    uint64_t off = header + z * kPlane * kPlane;
    for (size_t got = 0; got < bytes;) {
      ssize_t k = ::pread(in.get(), slab.data() + got, bytes - got, off_t(off + got));
      if (k <= 0) throw IoError(npy, "short read", errno);
      got += size_t(k);
    }
    hsize_t start[3] = {z, 0, 0}, count[3] = {n, kPlane, kPlane};
    hid_t fs = check_id(H5Dget_space(d), "H5Dget_space");
    check(H5Sselect_hyperslab(fs, H5S_SELECT_SET, start, nullptr, count, nullptr), "H5Sselect_hyperslab");
    hid_t ms = check_id(H5Screate_simple(3, count, nullptr), "H5Screate_simple");
    check(H5Dwrite(d, H5T_NATIVE_UINT8, ms, fs, H5P_DEFAULT, slab.data()), "H5Dwrite");
    H5Sclose(ms);
    H5Sclose(fs);
  }
  H5Dclose(d);
  H5Pclose(dcpl);
  H5Sclose(space);
  check(H5Fclose(f), "H5Fclose");
  {
    Fd o(out, O_RDONLY);
    if (::fsync(o.get()) != 0) throw IoError(out, "fsync failed", errno);
  }
  double secs = now_seconds() - t0;
  Result r;
  report_throughput(&r, 1, planes * kPlane * kPlane, secs);
  r.metrics["s_per_gib"] = secs / (double(planes * kPlane * kPlane) / double(1 << 30));
  return r;  // rss_mib: this process's VmHWM (run_child)
}

// The whole .npy in memory (data only), as np.load gives it to Python.
std::vector<uint8_t> load_volume(const std::string& npy, uint64_t header, uint64_t bytes) {
  std::vector<uint8_t> v(bytes);
  Fd in(npy, O_RDONLY);
  for (size_t got = 0; got < bytes;) {
    ssize_t k = ::pread(in.get(), v.data() + got, bytes - got, off_t(header + got));
    if (k <= 0) throw IoError(npy, "short read", errno);
    got += size_t(k);
  }
  return v;
}

}  // namespace

Result cli_redo_i1(const Context& c) {
  return cli_ingest(c, c.sizes.i1_mib, false, false);
}
Result cli_undo_i1(const Context& c) {
  return cli_ingest(c, c.sizes.i1_mib, true, false);
}
Result cli_redo_i1z(const Context& c) {
  return cli_ingest(c, c.sizes.i1_mib, false, true);
}
Result cli_undo_i1z(const Context& c) {
  return cli_ingest(c, c.sizes.i1_mib, true, true);
}
Result h5py_i1(const Context& c) {
  return h5py_write(c, false);
}
Result h5py_i1z(const Context& c) {
  return h5py_write(c, true);
}
Result hdf5_i1(const Context& c) {
  return hdf5_write(c, false);
}
Result hdf5_i1z(const Context& c) {
  return hdf5_write(c, true);
}

Result python_i1py(const Context& c) {
  std::string pydir = python_package_dir();
  std::string npy = c.scratch + "/vol.npy";
  uint64_t planes = planes_of(c.sizes.i1_mib);
  write_volume(npy, planes);
  std::string script = write_script(c.scratch, "ingest.py", kPythonIngest);
  ::sync();
  ProcessRun p = run_process({kPython, script, npy, c.scratch + "/store", "redo"}, c.scratch + "/py.log",
                             {"PYTHONPATH=" + pydir, "PYTHONDONTWRITEBYTECODE=1"});
  double secs = number_after(p.output, "seconds ");
  if (!(secs > 0)) throw StateError(script, "no time printed: " + p.output);
  Result r = ingest_result(planes * kPlane * kPlane, secs, p.rss_mib);
  r.metrics["process_seconds"] = p.seconds;
  return r;
}

Result cpp_i1py(const Context& c) {
  std::string npy = c.scratch + "/vol.npy";
  uint64_t planes = planes_of(c.sizes.i1_mib);
  uint64_t bytes = planes * kPlane * kPlane;
  uint64_t header = write_volume(npy, planes);
  std::vector<uint8_t> arr = load_volume(npy, header, bytes);
  ::sync();
  double t0 = now_seconds();
  std::unique_ptr<Store> st = Store::create(c.scratch + "/store");
  {
    Transaction tx = st->begin();
    tx.create_file("vol.h5");
    DatasetSpec s;
    s.dtype = DType::U8;
    s.shape = {planes, kPlane, kPlane};
    s.chunk = {kChunk, kChunk, kChunk};
    s.fletcher32 = true;
    tx.create_dataset("vol.h5", "/v", s);
    tx.commit();
  }
  TxOptions blind;
  blind.check_conflicts = false;
  for (uint64_t z = 0; z < planes; z += kChunk) {
    uint64_t n = std::min(kChunk, planes - z);
    Transaction tx = st->begin(blind);
    tx.write("vol.h5", "/v", {z, 0, 0}, {n, kPlane, kPlane}, DType::U8, arr.data() + z * kPlane * kPlane);
    tx.commit();
  }
  st->close();
  double secs = now_seconds() - t0;
  Result r;
  report_throughput(&r, 1, bytes, secs);
  return r;  // rss_mib: this process's VmHWM (run_child)
}

// DASK1/DASK2 (issue 17): one variant of kDaskStore with `workers` workers.
Result dask_store(const Context& c, const char* variant, int workers) {
  std::string pydir = python_package_dir();
  std::string script = write_script(c.scratch, "dask_store.py", kDaskStore);
  ::sync();
  ProcessRun p = run_process(
      {kPython, script, variant, std::to_string(workers), std::to_string(c.sizes.dask_mib), c.scratch},
      c.scratch + "/dask.log", {"PYTHONPATH=" + pydir, "PYTHONDONTWRITEBYTECODE=1"});
  double secs = number_after(p.output, "seconds ");
  double bytes = number_after(p.output, "bytes ");
  if (!(secs > 0) || !(bytes > 0)) throw StateError(script, "no time printed: " + p.output);
  Result r = ingest_result(uint64_t(bytes), secs, p.rss_mib);
  r.metrics["process_seconds"] = p.seconds;
  return r;
}

Result scale_small(const Context& c) {
  return cli_ingest(c, c.sizes.scale_small_mib, false, false);
}
Result scale_mid(const Context& c) {
  return cli_ingest(c, c.sizes.scale_mid_mib, false, false);
}
Result scale_large(const Context& c) {
  return cli_ingest(c, c.sizes.scale_large_mib, false, false);
}

// `h5tx check` of a flushed store holding the I1 volume against h5py
// reading every chunk of its data file once; both warm, alternated three
// times, medians. The check is the whole process; h5py's time excludes the
// interpreter's start and imports (the stricter comparison).
Result check_vs_h5py(const Context& c) {
  Result setup = cli_ingest(c, c.sizes.i1_mib, false, false);
  std::string h5tx = h5tx_binary();
  std::string home = c.scratch + "/store";
  std::string script = write_script(c.scratch, "read.py", kH5pyRead);
  std::string data = home + "/data/vol.h5";
  std::vector<double> chk, rd, rd_process;
  double chk_rss = 0, rd_rss = 0;
  for (int i = 0; i < 3; i++) {
    ProcessRun a = run_process({h5tx, "check", home}, c.scratch + "/check.log");
    ProcessRun b = run_process({kPython, script, data, "/v"}, c.scratch + "/read.log");
    chk.push_back(a.seconds);
    rd.push_back(number_after(b.output, "seconds "));
    rd_process.push_back(b.seconds);
    chk_rss = std::max(chk_rss, a.rss_mib);
    rd_rss = std::max(rd_rss, b.rss_mib);
  }
  std::sort(chk.begin(), chk.end());
  std::sort(rd.begin(), rd.end());
  std::sort(rd_process.begin(), rd_process.end());
  if (!(rd[1] > 0)) throw StateError(script, "no time printed");
  Result r;
  uint64_t bytes = uint64_t(setup.metrics["bytes"]);
  report_throughput(&r, 1, bytes, chk[1]);
  r.metrics["check_seconds"] = chk[1];
  r.metrics["h5py_read_seconds"] = rd[1];
  r.metrics["h5py_read_process_seconds"] = rd_process[1];
  r.metrics["check_over_read"] = chk[1] / rd[1];
  r.metrics["rss_mib"] = chk_rss;
  r.metrics["h5py_rss_mib"] = rd_rss;
  return r;
}

}  // namespace bench
}  // namespace h5tx
