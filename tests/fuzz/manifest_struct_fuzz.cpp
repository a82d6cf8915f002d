// Structure-aware fuzz target: checksum-valid redo MANIFESTs against
// recovery, in a scratch store (issue 11). manifest_fuzz.cpp fuzzes the
// parser's bytes and stops, for most inputs, at the checksum; this one
// mutates *decoded* records and re-checksums them, so every input reaches
// recovery's validation and the flusher.
//
// How inputs are made: LLVMFuzzerCustomMutator (libFuzzer's byte mutators
// are off for this target). An input is a whole MANIFEST file. The mutator
// decodes it with the library's decoder (falling back to a built-in copy of
// the golden manifest's operations if it does not decode), applies 1 to 3
// mutations to the decoded record, chosen with the mutator's seed, and
// re-encodes it with tests/crafted_store.cpp's encoder (which validates
// nothing), the record's length and XXH3-64 and every chunk copy's XXH3-64
// recomputed. Mutations: txid (0, 2^64-1, near the top, random); message
// and metadata (control characters, escapes); operation file names and HDF5
// paths (a list of hostile names: '/', '..', NUL, control characters,
// 255..4096-byte names, the store's own suffixes; or libFuzzer's byte
// mutator on the name); chunk coordinates and rank; inline copies resized
// (copies of the wrong size) or moved to the spill file; spill offsets and
// sizes (up to 2^63-1); filter masks; operation kinds; dataset specs
// (dtype, dims, chunk dims, fill value, filters); extents; attribute
// values; chunk file names; inserting, deleting, duplicating and swapping
// operations. The decoder's own rejections (rank 0, names over 4096 bytes)
// still happen: they are cheap and exercise its checks too.
//
// One execution: a fresh copy of a template store (made once with the
// library: vol.h5 with /grid and /zipped, flushed) becomes HOME, in a
// scratch tree <root>/w/a/b/c/{home,outside/canary} (plus canaries higher
// up); the input is written as HOME/journal/working_<txid>_done/MANIFEST
// (txid read from the input's header) with a fixed 16 KiB `spill` file
// beside it. Then Store::open (read-write: recovery), reads of what the
// manifest names through a read transaction (list_files, list_datasets,
// dataset_spec, read_chunk), flush, the same reads again (now from the
// HDF5 files), and close, with any h5tx::Error caught; then a plain HDF5
// reader (sec2 driver, as h5py would) H5Dreads every dataset of data/*.h5.
// Failures (each traps, so libFuzzer saves the input):
//  - an exception other than h5tx::Error escapes (std::bad_alloc included),
//    or libFuzzer's malloc/RSS limit is hit (-rss_limit_mb, -malloc_limit_mb);
//  - a sanitizer report (ASan/UBSan), including in the plain reader;
//  - committed data lost: the template's chunk (0,0) of vol.h5:/grid is no
//    longer readable (read-only open, the crafted transaction moved aside
//    as an operator would) although the input does not write it;
//  - anything under <root>/w outside HOME changed: created, removed, or
//    its size or mtime changed (a walk before and after);
//  - the store touched a path outside HOME through its Env (every path is
//    checked lexically; reads count too). The store runs on a guarding Env
//    that traps *before* any access outside <root>/w, so a hostile name can
//    never reach files of this machine outside the scratch tree.
//
// Knobs (environment): H5TX_SFUZZ_PRINT=1 prints what each input holds
// (replay a finding with it); H5TX_SFUZZ_SKIP=names,sizes,suffixes keeps
// the mutator away from a class of finding already known, to look for
// others behind it (plain and data turn those checks off).
//
// Scratch root: $H5TX_FUZZ_TMP, else /dev/shm (fsyncs are free), else /tmp;
// removed at a normal exit. Run: tools/fuzz.sh, or by hand: tests/fuzz/README.md.
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <memory>
#include <mutex>
#include <new>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

#include <hdf5.h>
#include <xxhash.h>

#include "crafted_store.hpp"
#include "h5tx/env.hpp"
#include "h5tx/error.hpp"
#include "h5tx/store.hpp"
#include "journal/manifest.hpp"
#include "journal/tx_dir.hpp"

extern "C" size_t LLVMFuzzerMutate(uint8_t* data, size_t size, size_t max_size);

namespace fs = std::filesystem;
using h5tx::journal::Manifest;
using h5tx::journal::Op;
using h5tx::journal::OpKind;
namespace cs = h5tx_test::crafted;

namespace {

// ---------------------------------------------------------------- scratch

constexpr size_t kSpillSize = 16 << 10;

struct Scratch {
  std::string root;   // <tmp>/h5tx-sfuzz-<pid>
  std::string fence;  // root/w: nothing outside it is ever touched
  std::string home;   // root/w/a/b/c/home
  std::string templ;  // root/template: the store copied into HOME
  std::string spill;  // the spill file's fixed contents
};

Scratch* g_scratch = nullptr;

std::string spill_pattern() {
  std::string s(kSpillSize, '\0');
  for (size_t i = 0; i < s.size(); i++) s[i] = static_cast<char>((i * 131 + 7) ^ (i >> 8));
  return s;
}

void write_file(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  if (!out) {
    std::fprintf(stderr, "manifest_struct_fuzz: cannot write %s\n", path.c_str());
    std::abort();
  }
}

void cleanup_scratch() {
  if (!g_scratch) return;
  std::error_code ec;
  fs::remove_all(g_scratch->root, ec);
}

// ---------------------------------------------------------------- guard Env

// Lexical normalization of an absolute path as the OS sees it (up to the
// first NUL): ".", "..", repeated '/'.
std::string normalize(const std::string& raw) {
  std::string p(raw.c_str());  // the kernel stops at the first NUL
  if (p.empty() || p[0] != '/') {
    char cwd[4096];
    p = std::string(::getcwd(cwd, sizeof cwd) ? cwd : "/") + "/" + p;
  }
  std::vector<std::string> parts;
  size_t i = 0;
  while (i <= p.size()) {
    size_t j = p.find('/', i);
    if (j == std::string::npos) j = p.size();
    std::string seg = p.substr(i, j - i);
    if (seg == "..") {
      if (!parts.empty()) parts.pop_back();
    } else if (!seg.empty() && seg != ".") {
      parts.push_back(seg);
    }
    i = j + 1;
  }
  std::string out;
  for (const auto& s : parts) out += "/" + s;
  return out.empty() ? "/" : out;
}

bool under(const std::string& norm, const std::string& dir) {
  return norm == dir ||
         (norm.size() > dir.size() && norm.compare(0, dir.size(), dir) == 0 && norm[dir.size()] == '/');
}

// Forwards to the POSIX Env after checking every path: outside HOME is a
// finding (recorded; reported after the execution, once the tree walk has
// seen what it did); outside the fence it traps before the access.
class GuardEnv : public h5tx::Env {
 public:
  explicit GuardEnv(const Scratch& s) : s_(s), real_(h5tx::Env::posix()) {}

  std::vector<std::string> take_violations() {
    std::lock_guard<std::mutex> g(mu_);
    std::vector<std::string> v;
    v.swap(violations_);
    return v;
  }

  std::unique_ptr<h5tx::File> open(const std::string& path, h5tx::OpenMode mode) override {
    check("open", path);
    return real_->open(path, mode);
  }
  bool exists(const std::string& path) override {
    check("exists", path);
    return real_->exists(path);
  }
  bool is_directory(const std::string& path) override {
    check("is_directory", path);
    return real_->is_directory(path);
  }
  uint64_t file_size(const std::string& path) override {
    check("file_size", path);
    return real_->file_size(path);
  }
  void remove_file(const std::string& path) override {
    check("remove_file", path);
    real_->remove_file(path);
  }
  void rename(const std::string& from, const std::string& to) override {
    check("rename from", from);
    check("rename to", to);
    real_->rename(from, to);
  }
  void create_dir(const std::string& path) override {
    check("create_dir", path);
    real_->create_dir(path);
  }
  void remove_dir(const std::string& path) override {
    check("remove_dir", path);
    real_->remove_dir(path);
  }
  std::vector<std::string> list_dir(const std::string& path) override {
    check("list_dir", path);
    return real_->list_dir(path);
  }
  void sync_dir(const std::string& path) override {
    check("sync_dir", path);
    real_->sync_dir(path);
  }
  std::unique_ptr<h5tx::FileLock> lock_file(const std::string& path, h5tx::LockKind kind,
                                            std::chrono::milliseconds timeout) override {
    check("lock_file", path);
    return real_->lock_file(path, kind, timeout);
  }
  uint64_t now_micros() override { return real_->now_micros(); }
  void sleep_micros(uint64_t micros) override { real_->sleep_micros(micros); }

 private:
  void check(const char* what, const std::string& path) {
    std::string norm = normalize(path);
    if (under(norm, s_.home)) return;
    std::string msg = std::string(what) + " " + norm + " (asked for '" + printable(path) + "')";
    if (!under(norm, s_.fence)) {
      std::fprintf(stderr,
                   "\n==manifest_struct_fuzz: the store reached outside HOME and the scratch tree: %s\n",
                   msg.c_str());
      __builtin_trap();  // before the access
    }
    std::lock_guard<std::mutex> g(mu_);
    violations_.push_back(msg);
  }
  static std::string printable(const std::string& s) {
    std::string o;
    for (unsigned char c : s.substr(0, 300)) {
      if (c >= 0x20 && c < 0x7f) {
        o += static_cast<char>(c);
      } else {
        char b[8];
        std::snprintf(b, sizeof b, "\\x%02x", c);
        o += b;
      }
    }
    return s.size() > 300 ? o + "..." : o;
  }

  const Scratch& s_;
  h5tx::Env* real_;
  std::mutex mu_;
  std::vector<std::string> violations_;
};

GuardEnv* g_env = nullptr;

// Scratch trees of runs that died (a finding ends the process without its
// at-exit cleanup; -fork mode leaves one per crashed child).
void remove_stale_scratch(const std::string& tmp) {
  const std::string prefix = "h5tx-sfuzz-";
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(tmp, ec)) {
    std::string n = e.path().filename().string();
    if (n.compare(0, prefix.size(), prefix) != 0) continue;
    char* end = nullptr;
    long pid = std::strtol(n.c_str() + prefix.size(), &end, 10);
    if (pid <= 0 || *end != '\0' || pid == ::getpid()) continue;
    if (::kill(static_cast<pid_t>(pid), 0) == 0 || errno != ESRCH) continue;  // alive
    std::error_code ec2;
    fs::remove_all(e.path(), ec2);
  }
}

void init() {
  if (g_scratch) return;
  H5dont_atexit();  // a failed HDF5 close may leave ids that crash HDF5's at-exit cleanup
  H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr);
  std::string tmp;
  if (const char* t = std::getenv("H5TX_FUZZ_TMP"))
    tmp = t;
  else if (::access("/dev/shm", W_OK) == 0)
    tmp = "/dev/shm";
  else
    tmp = "/tmp";
  remove_stale_scratch(tmp);
  auto* s = new Scratch;
  s->root = normalize(tmp + "/h5tx-sfuzz-" + std::to_string(::getpid()));
  std::error_code ec;
  fs::remove_all(s->root, ec);
  s->fence = s->root + "/w";
  s->home = s->fence + "/a/b/c/home";
  s->templ = s->root + "/template";
  s->spill = spill_pattern();
  fs::create_directories(s->fence + "/a/b/c/outside");
  write_file(s->fence + "/canary", "canary w");
  write_file(s->fence + "/a/canary", "canary a");
  write_file(s->fence + "/a/b/canary", "canary b");
  write_file(s->fence + "/a/b/c/outside/canary", "canary outside");
  write_file(s->fence + "/a/b/c/outside/x.h5", "not an HDF5 file");
  cs::make_store(s->templ);
  g_scratch = s;
  g_env = new GuardEnv(*s);
  std::atexit(cleanup_scratch);
}

// ---------------------------------------------------------------- model

// A decoded manifest with each inline chunk copy's bytes beside its op.
struct Model {
  Manifest m;
  std::vector<std::string> inl;  // per op; used when op is WriteChunk with chunk_file ""
};

void push(Model& md, const Op& op, std::string bytes = "") {
  md.m.ops.push_back(op);
  md.inl.push_back(std::move(bytes));
}

Op make_write_chunk(const std::string& file, const std::string& path, h5tx::Shape coords) {
  Op op;
  op.kind = OpKind::WriteChunk;
  op.file = file;
  op.path = path;
  op.shape = std::move(coords);
  return op;
}

// The golden manifest's operations (tests/journal_manifest_test.cpp), plus
// an ordinary chunk of the template's /grid.
Model base_model() {
  Model md;
  md.m.txid = 0x0123456789abcdefULL;
  md.m.commit_time_micros = 1700000000123456ULL;
  md.m.message = "ingest run 7";
  md.m.metadata["source"] = "detector-A";
  md.m.metadata["run"] = "7";
  Op f;
  f.kind = OpKind::CreateFile;
  f.file = "vol.h5";
  push(md, f);
  Op d;
  d.kind = OpKind::CreateDataset;
  d.file = "vol.h5";
  d.path = "/raw/a";
  d.spec.dtype = h5tx::DType::U16;
  d.spec.shape = {100, 64};
  d.spec.max_shape = {h5tx::kUnlimited, 64};
  d.spec.chunk = {10, 64};
  d.spec.fill_value = 7;
  d.spec.compression = h5tx::Compression::ShuffleDeflate;
  d.spec.deflate_level = 4;
  d.spec.fletcher32 = true;
  push(md, d);
  Op e;
  e.kind = OpKind::ExtendDataset;
  e.file = "vol.h5";
  e.path = "/raw/a";
  e.shape = {200, 64};
  push(md, e);
  Op a;
  a.kind = OpKind::SetAttribute;
  a.file = "vol.h5";
  a.path = "/raw/a";
  a.name = "gain";
  a.attr = h5tx::AttributeValue::scalar<double>(1.5);
  push(md, a);
  Op c = make_write_chunk("vol.h5", "/raw/a", {3, 0});
  std::string d1(1234, '\0');
  for (size_t i = 0; i < d1.size(); i++) d1[i] = static_cast<char>(i * 7 + 3);
  push(md, c, d1);
  Op sp = make_write_chunk("vol.h5", "/raw/a", {4, 0});
  sp.chunk_file = h5tx::journal::kSpillFileName;
  sp.chunk_offset = 4096;
  sp.chunk_size = 1000;
  push(md, sp);
  push(md, make_write_chunk(cs::kFile, cs::kGrid, {1, 1}), cs::chunk_bytes(5, 1, 1));
  return md;
}

bool decode_model(const uint8_t* data, size_t size, Model* out) {
  std::string bytes(reinterpret_cast<const char*>(data), size);
  try {
    Manifest m = h5tx::journal::decode_manifest(bytes, "in");
    Model md;
    for (auto& op : m.ops) {
      std::string inl;
      if (op.kind == OpKind::WriteChunk && op.chunk_file == h5tx::journal::kManifestName) {
        inl = bytes.substr(op.chunk_offset, op.chunk_size);
        op.chunk_file.clear();
        op.chunk_offset = 0;
      }
      md.inl.push_back(std::move(inl));
    }
    md.m = std::move(m);
    *out = std::move(md);
    return true;
  } catch (const h5tx::Error&) {
    return false;
  }
}

// Recomputes every checksum (and inline sizes) and encodes the file.
std::string encode_model(Model& md, const std::string& spill) {
  std::string data;
  for (size_t i = 0; i < md.m.ops.size(); i++) {
    Op& op = md.m.ops[i];
    if (op.kind != OpKind::WriteChunk) continue;
    if (op.chunk_file.empty()) {
      op.chunk_offset = data.size();
      op.chunk_size = md.inl[i].size();
      op.chunk_hash = XXH3_64bits(md.inl[i].data(), md.inl[i].size());
      data += md.inl[i];
    } else if (op.chunk_file == h5tx::journal::kSpillFileName && op.chunk_offset <= spill.size() &&
               op.chunk_size <= spill.size() - op.chunk_offset) {
      op.chunk_hash = XXH3_64bits(spill.data() + op.chunk_offset, op.chunk_size);
    }
  }
  return cs::encode_record(md.m, data.size()) + data;
}

// ---------------------------------------------------------------- mutations

using Rng = std::mt19937_64;

template <class T>
const T& pick(Rng& r, const std::vector<T>& v) {
  return v[r() % v.size()];
}

// Bytes mutated by libFuzzer's own mutator (dictionary, CMP hints).
std::string byte_mutate(const std::string& s, size_t grow = 32) {
  std::vector<uint8_t> buf(s.begin(), s.end());
  size_t max = s.size() + grow;
  buf.resize(std::max<size_t>(max, 1));
  size_t n = LLVMFuzzerMutate(buf.data(), s.size(), max);
  return std::string(buf.begin(), buf.begin() + n);
}

const std::vector<std::string>& hostile_files() {
  static const std::vector<std::string> v = {"vol.h5",
                                             "new.h5",
                                             "../x.h5",
                                             "../../x.h5",
                                             "../../outside/x.h5",
                                             "../../outside/canary",
                                             "../../outside/new.h5",
                                             "../../../canary",
                                             "../../../../x.h5",
                                             "../../../../../canary",
                                             "../../../../../../../../../../../tmp/h5tx-sfuzz-escape.h5",
                                             "/tmp/h5tx-sfuzz-abs.h5",
                                             "../data/vol.h5",
                                             "./vol.h5",
                                             "vol.h5/",
                                             "a/b.h5",
                                             "..",
                                             ".",
                                             "",
                                             "/",
                                             std::string("vol.h5\0../../x", 14),
                                             std::string("\0", 1),
                                             "\x1b[2J.h5",
                                             "a\nb.h5",
                                             "vol.h5.tmp",
                                             "vol.h5.journal",
                                             "x.tmp",
                                             "MANIFEST",
                                             "LOCK",
                                             "TXID",
                                             "h5tx.store",
                                             "../TXID",
                                             "../h5tx.store",
                                             "../journal",
                                             "../LOCK",
                                             std::string(200, 'f'),
                                             std::string(247, 'f'),
                                             std::string(255, 'f'),
                                             std::string(256, 'f'),
                                             std::string(300, 'f'),
                                             std::string(4096, 'f'),
                                             std::string(4097, 'f'),
                                             "\xff\xfe.h5"};
  return v;
}

const std::vector<std::string>& hostile_paths() {
  static const std::vector<std::string> v = {"/grid",
                                             "/zipped",
                                             "/raw/a",
                                             "/",
                                             "//",
                                             "/grid/..",
                                             "/../grid",
                                             "/a/../../b",
                                             "grid",
                                             "/grid/",
                                             "/.",
                                             "/..",
                                             "..",
                                             std::string("/a\0b", 4),
                                             "/\x01",
                                             "/\x1b[31m",
                                             "/grid/sub",
                                             "/zipped/x/y",
                                             "/g/" + std::string(300, 'p'),
                                             "/" + std::string(4095, 'p'),
                                             "/a//b",
                                             "/new/deep/er/dataset"};
  return v;
}

uint64_t interesting_u64(Rng& r) {
  static const std::vector<uint64_t> v = {0,
                                          1,
                                          2,
                                          3,
                                          4,
                                          7,
                                          8,
                                          16,
                                          255,
                                          256,
                                          1000,
                                          1234,
                                          4096,
                                          16384,
                                          65536,
                                          (1ull << 31) - 1,
                                          1ull << 31,
                                          1ull << 32,
                                          1ull << 40,
                                          1ull << 62,
                                          (1ull << 63) - 1,
                                          1ull << 63,
                                          ~0ull - 1,
                                          ~0ull};
  if (r() % 4 == 0) return r();
  return pick(r, v);
}

void fix_kind_fields(Op& op, Rng& r) {
  switch (op.kind) {
    case OpKind::CreateDataset:
      if (op.path.empty()) op.path = "/fz";
      if (op.spec.shape.empty()) op.spec = cs::grid_spec(r() % 2);
      if (op.spec.max_shape.size() != op.spec.shape.size()) op.spec.max_shape = op.spec.shape;
      if (op.spec.chunk.size() != op.spec.shape.size()) op.spec.chunk.assign(op.spec.shape.size(), 8);
      break;
    case OpKind::ExtendDataset:
      if (op.path.empty()) op.path = cs::kGrid;
      if (op.shape.empty()) op.shape = {24, 32};
      break;
    case OpKind::SetAttribute:
      if (op.path.empty()) op.path = "/";
      if (op.name.empty()) op.name = "fz";
      if (!op.attr.is_string && op.attr.bytes.empty()) op.attr = h5tx::AttributeValue::scalar<double>(2.5);
      break;
    case OpKind::WriteChunk:
      if (op.path.empty()) op.path = cs::kGrid;
      if (op.shape.empty()) op.shape = {1, 0};
      break;
    default:
      break;
  }
}

Op random_op(Rng& r, std::string* inl) {
  Op op;
  op.file = r() % 4 ? cs::kFile : pick(r, hostile_files());
  switch (r() % 6) {
    case 0:
      op.kind = OpKind::CreateFile;
      op.file = r() % 2 ? "new.h5" : pick(r, hostile_files());
      break;
    case 1:
      op.kind = OpKind::CreateDataset;
      op.path = r() % 2 ? "/fz/d" : pick(r, hostile_paths());
      op.spec = cs::grid_spec(r() % 2);
      break;
    case 2:
      op.kind = OpKind::ExtendDataset;
      op.path = cs::kGrid;
      op.shape = {8 * (r() % 8), 32};
      break;
    case 3:
      op.kind = OpKind::SetAttribute;
      op.path = r() % 2 ? "/" : cs::kGrid;
      op.name = "a" + std::to_string(r() % 4);
      op.attr = r() % 2 ? h5tx::AttributeValue::string("v") : h5tx::AttributeValue::scalar<uint32_t>(7);
      break;
    default: {
      op = make_write_chunk(op.file, r() % 2 ? cs::kGrid : cs::kZipped, {r() % 3, r() % 5});
      *inl = cs::chunk_bytes(uint32_t(r()), op.shape[0], op.shape[1]);
      if (op.path == cs::kZipped) {
        op.filter_mask = 0x7;  // every filter skipped: stored bytes are the raw chunk
        if (r() % 2) inl->resize(r() % 300);
      }
      break;
    }
  }
  return op;
}

// One mutation of `md`.
void mutate_once(Model& md, Rng& r, const std::string& spill) {
  auto& ops = md.m.ops;
  size_t n = ops.size();
  size_t i = n ? r() % n : 0;
  switch (r() % 20) {
    case 0: {  // txid
      static const std::vector<uint64_t> v = {0,          1,       ~0ull,   ~0ull - 1, ~0ull - 65536,
                                              1ull << 63, 0x10001, 0x10000, 0x20000,   0x0123456789abcdefULL};
      md.m.txid = r() % 3 ? pick(r, v) : (r() % 2 ? md.m.txid + 1 + r() % 4 : r());
      break;
    }
    case 1:  // message, metadata, time
      if (r() % 3 == 0)
        md.m.message = pick(r, std::vector<std::string>{"\x1b]0;pwn\x07", "\x1b[2J\x1b[H", "line\r\nfake", "",
                                                        std::string(3000, 'm'), std::string("a\0b", 3)});
      else if (r() % 2)
        md.m.message = byte_mutate(md.m.message, 64);
      else if (r() % 2)
        md.m.metadata[byte_mutate("key", 16)] = byte_mutate("value", 16);
      else
        md.m.commit_time_micros = interesting_u64(r);
      break;
    case 2:
    case 3:  // file name
      if (!n) break;
      ops[i].file = r() % 3 ? pick(r, hostile_files()) : byte_mutate(ops[i].file);
      // Usually the whole transaction names the same file, as a real one would.
      if (r() % 2)
        for (auto& o : ops) o.file = ops[i].file;
      break;
    case 4:  // HDF5 path or attribute name
      if (!n) break;
      if (ops[i].kind == OpKind::SetAttribute && r() % 2)
        ops[i].name = r() % 2 ? pick(r, hostile_paths()) : byte_mutate(ops[i].name);
      else
        ops[i].path = r() % 3 ? pick(r, hostile_paths()) : byte_mutate(ops[i].path);
      break;
    case 5: {  // chunk coordinates / rank
      if (!n || ops[i].kind != OpKind::WriteChunk) break;
      auto& s = ops[i].shape;
      if (r() % 4 == 0) {
        if (r() % 2 && s.size() > 1)
          s.pop_back();
        else
          s.push_back(interesting_u64(r));
      } else if (!s.empty()) {
        s[r() % s.size()] = r() % 2 ? interesting_u64(r) : r() % 6;
      }
      break;
    }
    case 6: {  // inline copy size / contents (copies of the wrong size)
      if (!n || ops[i].kind != OpKind::WriteChunk) break;
      if (!ops[i].chunk_file.empty()) {
        ops[i].chunk_file.clear();
        md.inl[i] = spill.substr(0, 256);
      }
      std::string& b = md.inl[i];
      if (r() % 2)
        b.resize(pick(r, std::vector<size_t>{0, 1, 15, 16, 64, 255, 256, 257, 512, 1234, 4096}), 'z');
      else
        b = byte_mutate(b, 64);
      break;
    }
    case 7: {  // spill references
      if (!n || ops[i].kind != OpKind::WriteChunk) break;
      Op& op = ops[i];
      op.chunk_file = h5tx::journal::kSpillFileName;
      if (r() % 2) {
        op.chunk_offset = r() % 2 ? r() % kSpillSize : interesting_u64(r);
        op.chunk_size = r() % 2 ? r() % 1024 : interesting_u64(r);
      } else {
        op.chunk_offset = 256 * (r() % 8);
        op.chunk_size = r() % 2 ? 256 : 1ull << 31;
      }
      md.inl[i].clear();
      break;
    }
    case 8:  // filter mask
      if (!n || ops[i].kind != OpKind::WriteChunk) break;
      ops[i].filter_mask =
          pick(r, std::vector<uint32_t>{0, 1, 2, 3, 4, 5, 6, 7, 0x8000, 0xffffffffu, uint32_t(r())});
      break;
    case 9:  // op kind
      if (!n) break;
      ops[i].kind = static_cast<OpKind>(1 + r() % 5);
      fix_kind_fields(ops[i], r);
      break;
    case 10: {  // insert an operation
      std::string inl;
      Op op = random_op(r, &inl);
      size_t at = n ? r() % (n + 1) : 0;
      ops.insert(ops.begin() + at, op);
      md.inl.insert(md.inl.begin() + at, inl);
      break;
    }
    case 11:  // delete
      if (!n) break;
      ops.erase(ops.begin() + i);
      md.inl.erase(md.inl.begin() + i);
      break;
    case 12:  // duplicate or swap
      if (!n) break;
      if (r() % 2) {
        ops.insert(ops.begin() + i, ops[i]);
        md.inl.insert(md.inl.begin() + i, md.inl[i]);
      } else {
        size_t j = r() % n;
        std::swap(ops[i], ops[j]);
        std::swap(md.inl[i], md.inl[j]);
      }
      break;
    case 13: {  // dataset spec
      if (!n || ops[i].kind != OpKind::CreateDataset) break;
      auto& s = ops[i].spec;
      size_t d = s.shape.empty() ? 0 : r() % s.shape.size();
      switch (r() % 8) {
        case 0:
          s.dtype = static_cast<h5tx::DType>(1 + r() % 10);
          break;
        case 1:
          if (!s.shape.empty()) s.shape[d] = interesting_u64(r);
          break;
        case 2:
          if (!s.max_shape.empty()) s.max_shape[d] = interesting_u64(r);
          break;
        case 3:
          if (!s.chunk.empty()) s.chunk[d] = r() % 2 ? interesting_u64(r) : 1 + r() % 4096;
          break;
        case 4:
          s.fill_value =
              pick(r, std::vector<double>{0, -1, 1e300, -1e300, 0.5, std::numeric_limits<double>::infinity(),
                                          std::numeric_limits<double>::quiet_NaN(), 4294967296.0, -9.3e18});
          break;
        case 5:
          s.compression = static_cast<h5tx::Compression>(r() % 2);
          s.deflate_level = int(r() % 10);
          break;
        case 6:
          s.fletcher32 = !s.fletcher32;
          break;
        default: {  // rank
          size_t rank = 1 + r() % 4;
          s.shape.resize(rank, 8);
          s.max_shape.resize(rank, 8);
          s.chunk.resize(rank, 8);
        }
      }
      break;
    }
    case 14: {  // extent
      if (!n || ops[i].kind != OpKind::ExtendDataset) break;
      auto& s = ops[i].shape;
      if (r() % 5 == 0)
        s.resize(1 + r() % 3, 16);
      else if (!s.empty())
        s[r() % s.size()] = r() % 2 ? interesting_u64(r) : 8 * (r() % 64);
      break;
    }
    case 15: {  // attribute value
      if (!n || ops[i].kind != OpKind::SetAttribute) break;
      auto& a = ops[i].attr;
      if (r() % 3 == 0) {
        a.is_string = !a.is_string;
        if (a.is_string)
          a.text = "\x1b[31m";
        else
          a.bytes.assign(8, 1), a.dtype = h5tx::DType::F64;
      } else if (a.is_string) {
        a.text = byte_mutate(a.text, 128);
      } else {
        a.dtype = static_cast<h5tx::DType>(1 + r() % 10);
        a.bytes.resize(h5tx::dtype_size(a.dtype) * pick(r, std::vector<size_t>{1, 2, 3, 100, 400}), 2);
      }
      break;
    }
    case 16:  // chunk file name
      if (!n || ops[i].kind != OpKind::WriteChunk) break;
      ops[i].chunk_file = pick(
          r, std::vector<std::string>{"spill", "spill2", "chunk_00000000", "TXID", "x", std::string(64, 's'),
                                      "MANIFEST", "../spill", "../../../../outside/canary", "-", "a.b"});
      ops[i].chunk_offset = r() % 2 ? 0 : interesting_u64(r);
      ops[i].chunk_size = r() % 2 ? 256 : interesting_u64(r);
      md.inl[i].clear();
      break;
    case 17: {  // a whole hostile transaction shape: create a file and write into it
      std::string f = pick(r, hostile_files());
      Op cf;
      cf.kind = OpKind::CreateFile;
      cf.file = f;
      Op cd;
      cd.kind = OpKind::CreateDataset;
      cd.file = f;
      cd.path = r() % 2 ? "/d" : pick(r, hostile_paths());
      cd.spec = cs::grid_spec(r() % 2);
      Op wc = make_write_chunk(f, cd.path, {0, 0});
      wc.filter_mask = cd.spec.compression == h5tx::Compression::None ? 0 : 0x7;
      push(md, cf);
      push(md, cd);
      push(md, wc, cs::chunk_bytes(3, 0, 0));
      break;
    }
    default:  // byte-level on one numeric field of a chunk op
      if (!n || ops[i].kind != OpKind::WriteChunk) break;
      ops[i].chunk_offset ^= uint64_t(1) << (r() % 64);
      break;
  }
}

}  // namespace

// ---------------------------------------------------------------- libFuzzer

namespace {

// H5TX_SFUZZ_SKIP=names,sizes: leave out a class of finding already known,
// to look for others behind it. names: file names lose '/' (and "." and
// ".." become plain names), so none leaves HOME; sizes: spill references
// larger than 16 MiB are cut to 256 bytes; suffixes: no data file name
// ends in the store's own ".journal" or ".tmp". (And, read where they are
// used: plain = no plain HDF5 reader, data = no committed-data check.)
struct Skips {
  bool names = false;
  bool sizes = false;
  bool suffixes = false;
  Skips() {
    const char* e = std::getenv("H5TX_SFUZZ_SKIP");
    std::string v = e ? e : "";
    names = v.find("names") != std::string::npos;
    sizes = v.find("sizes") != std::string::npos;
    suffixes = v.find("suffixes") != std::string::npos;
  }
};

bool ends_with(const std::string& s, const std::string& tail) {
  return s.size() >= tail.size() && s.compare(s.size() - tail.size(), tail.size(), tail) == 0;
}

void apply_skips(Model& md) {
  static const Skips skips;
  for (auto& op : md.m.ops) {
    if (skips.names) {
      for (char& c : op.file)
        if (c == '/') c = '_';
      if (op.file == "." || op.file == "..") op.file = "dot.h5";
    }
    if (skips.suffixes && (ends_with(op.file, ".journal") || ends_with(op.file, ".tmp"))) op.file += "_";
    if (skips.sizes && op.kind == OpKind::WriteChunk && !op.chunk_file.empty() && op.chunk_size > (16u << 20))
      op.chunk_size = 256;
  }
}

}  // namespace

extern "C" size_t LLVMFuzzerCustomMutator(uint8_t* data, size_t size, size_t max_size, unsigned int seed) {
  init();
  Rng r(seed);
  Model orig;
  if (!decode_model(data, size, &orig)) orig = base_model();
  for (int attempt = 0; attempt < 8; attempt++) {
    Model md = orig;
    int k = 1 + int(r() % 3);
    for (int j = 0; j < k; j++) mutate_once(md, r, g_scratch->spill);
    apply_skips(md);
    std::string out = encode_model(md, g_scratch->spill);
    if (out.size() <= max_size) {
      std::memcpy(data, out.data(), out.size());
      return out.size();
    }
  }
  // Nothing fitted: the original, re-checksummed (if it fits).
  std::string out = encode_model(orig, g_scratch->spill);
  if (out.size() > max_size) return size;
  std::memcpy(data, out.data(), out.size());
  return out.size();
}

namespace {

[[noreturn]] void fail(const std::string& what) {
  std::fprintf(stderr, "\n==manifest_struct_fuzz: %s\n", what.c_str());
  std::fflush(stderr);
  __builtin_trap();
}

// Reads of what the manifest names, through a read transaction: overlay
// and data-file reads with hostile names.
void read_back(h5tx::Store& store, const std::string& input) {
  Model md;
  if (!decode_model(reinterpret_cast<const uint8_t*>(input.data()), input.size(), &md)) return;
  auto tx = store.begin(h5tx::read_only_tx());
  try {
    tx.list_files();
  } catch (const h5tx::Error&) {
  }
  size_t budget = 8;
  for (const auto& op : md.m.ops) {
    if (budget-- == 0) break;
    try {
      tx.list_datasets(op.file);
    } catch (const h5tx::Error&) {
    }
    if (op.kind == OpKind::WriteChunk || op.kind == OpKind::CreateDataset ||
        op.kind == OpKind::ExtendDataset) {
      try {
        h5tx::DatasetSpec s = tx.dataset_spec(op.file, op.path);
        if (op.kind == OpKind::WriteChunk) tx.read_chunk(op.file, op.path, op.shape);
        (void)s;
      } catch (const h5tx::Error&) {
      }
    }
  }
}

// A plain HDF5 reader after the store closed (as h5py or h5dump would
// read data/*.h5, with HDF5's own sec2 driver): H5Dread of every dataset of
// at most 16 MiB. A chunk stored with a size its filters do not explain
// makes HDF5 read past a buffer; ASan sees it in the pread interceptor.
herr_t read_dataset(hid_t obj, const char* name, const H5O_info_t* info, void*) {
  if (info->type != H5O_TYPE_DATASET) return 0;
  hid_t ds = H5Dopen2(obj, name, H5P_DEFAULT);
  if (ds < 0) return 0;
  hid_t space = H5Dget_space(ds);
  hid_t type = H5Dget_type(ds);
  hssize_t n = space >= 0 ? H5Sget_simple_extent_npoints(space) : -1;
  size_t esize = type >= 0 ? H5Tget_size(type) : 0;
  if (n > 0 && esize > 0 && esize <= 8 && uint64_t(n) * esize <= (16u << 20)) {
    std::vector<uint8_t> buf(size_t(n) * esize);
    H5Dread(ds, type, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf.data());
  }
  if (type >= 0) H5Tclose(type);
  if (space >= 0) H5Sclose(space);
  H5Dclose(ds);
  return 0;
}

void plain_hdf5_read(const std::string& data_dir) {
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(data_dir, ec)) {
    std::string p = e.path().string();
    if (p.size() < 3 || p.compare(p.size() - 3, 3, ".h5") != 0 || !e.is_regular_file()) continue;
    hid_t f = H5Fopen(p.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT);
    if (f < 0) continue;
    H5Ovisit(f, H5_INDEX_NAME, H5_ITER_NATIVE, read_dataset, nullptr);
    H5Fclose(f);
  }
}

// Committed data survives: the template's chunk (0,0) of vol.h5:/grid is
// still there after the execution, unless the input writes a chunk of
// /grid in vol.h5 itself (under any spelling of the two). The crafted
// transaction directory is moved out of the way first (as an operator
// would quarantine a bad transaction), then a read-only open reads it.
// Returns "" or what went wrong.
bool may_touch_grid(const Model& md) {
  for (const auto& op : md.m.ops) {
    std::string f = normalize("/data/" + op.file);
    std::string p = normalize(op.path);
    bool file = f == "/data/vol.h5" || op.file.find('\0') != std::string::npos;
    bool path = p == "/grid" || op.path.find('\0') != std::string::npos;
    if (file && path && op.kind != OpKind::SetAttribute && op.kind != OpKind::ExtendDataset) return true;
  }
  return false;
}

std::string check_committed_data(const std::string& home, uint64_t txid, const std::string& input) {
  Model md;
  if (decode_model(reinterpret_cast<const uint8_t*>(input.data()), input.size(), &md) && may_touch_grid(md))
    return "";
  std::error_code ec;
  for (auto st :
       {h5tx::journal::TxState::Done, h5tx::journal::TxState::Temp, h5tx::journal::TxState::Flushed})
    fs::remove_all(cs::tx_dir(home, txid, st), ec);
  try {
    h5tx::Options o;
    o.env = g_env;
    o.read_only = true;
    auto store = h5tx::Store::open(home, o);
    auto tx = store->begin(h5tx::read_only_tx());
    auto v = tx.read_chunk(cs::kFile, cs::kGrid, {0, 0});
    if (std::string(v.begin(), v.end()) != cs::chunk_bytes(1, 0, 0))
      return "committed chunk (0,0) of vol.h5:/grid has changed";
    return "";
  } catch (const h5tx::Error& e) {
    return std::string(
               "committed chunk (0,0) of vol.h5:/grid is unreadable once the transaction is "
               "moved aside: ") +
           e.what();
  }
}

std::string printable(const std::string& s) {
  std::string o;
  for (unsigned char c : s.substr(0, 80)) {
    if (c >= 0x20 && c < 0x7f && c != '\\') {
      o += static_cast<char>(c);
    } else {
      char b[8];
      std::snprintf(b, sizeof b, "\\x%02x", c);
      o += b;
    }
  }
  if (s.size() > 80) o += "...(" + std::to_string(s.size()) + " bytes)";
  return o;
}

std::string dims(const h5tx::Shape& d) {
  std::string o = "[";
  for (size_t i = 0; i < d.size(); i++) o += (i ? "," : "") + std::to_string(d[i]);
  return o + "]";
}

// H5TX_SFUZZ_PRINT=1: what an input holds, to describe a finding.
void describe(const std::string& input) {
  Model md;
  if (!decode_model(reinterpret_cast<const uint8_t*>(input.data()), input.size(), &md)) {
    std::fprintf(stderr, "input: %zu bytes, does not decode\n", input.size());
    return;
  }
  std::fprintf(stderr, "input: %zu bytes, txid %s, %zu ops\n", input.size(),
               h5tx::journal::txid_hex(md.m.txid).c_str(), md.m.ops.size());
  static const char* kinds[] = {"?",      "create_file",   "create_dataset",
                                "extend", "set_attribute", "write_chunk"};
  for (size_t i = 0; i < md.m.ops.size(); i++) {
    const Op& op = md.m.ops[i];
    int k = int(op.kind) >= 1 && int(op.kind) <= 5 ? int(op.kind) : 0;
    std::string line = std::string(kinds[k]) + " file '" + printable(op.file) + "'";
    if (op.kind != OpKind::CreateFile) line += " path '" + printable(op.path) + "'";
    if (op.kind == OpKind::CreateDataset)
      line += " dtype " + std::to_string(int(op.spec.dtype)) + " shape " + dims(op.spec.shape) + " max " +
              dims(op.spec.max_shape) + " chunk " + dims(op.spec.chunk);
    if (op.kind == OpKind::ExtendDataset) line += " to " + dims(op.shape);
    if (op.kind == OpKind::SetAttribute) line += " name '" + printable(op.name) + "'";
    if (op.kind == OpKind::WriteChunk)
      line += " coords " + dims(op.shape) + " mask " + std::to_string(op.filter_mask) +
              (op.chunk_file.empty()
                   ? " inline " + std::to_string(md.inl[i].size()) + " bytes"
                   : " in '" + printable(op.chunk_file) + "' at " + std::to_string(op.chunk_offset) +
                         " size " + std::to_string(op.chunk_size));
    std::fprintf(stderr, "  op %zu: %s\n", i, line.c_str());
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  init();
  const Scratch& s = *g_scratch;
  std::string input(reinterpret_cast<const char*>(data), size);
  static const bool print = std::getenv("H5TX_SFUZZ_PRINT") != nullptr;
  if (print) describe(input);

  // A fresh HOME from the template.
  std::error_code ec;
  fs::remove_all(s.home, ec);
  fs::copy(s.templ, s.home, fs::copy_options::recursive, ec);
  if (ec) fail("cannot copy the template store: " + ec.message());
  uint64_t txid = 0;
  if (size >= 24) std::memcpy(&txid, data + 16, 8);
  std::string dir = cs::tx_dir(s.home, txid);
  fs::create_directory(dir);
  write_file(dir + "/MANIFEST", input);
  write_file(dir + "/spill", s.spill);

  cs::TreeSnapshot before = cs::snapshot_tree(s.fence, s.home);
  g_env->take_violations();
  std::string escaped;
  try {
    h5tx::Options o;
    o.env = g_env;
    o.background_flusher = false;
    auto store = h5tx::Store::open(s.home, o);
    try {
      read_back(*store, input);
    } catch (const h5tx::Error&) {
    }
    try {
      store->flush();
      // Again, now from the data files (HDF5 reads of what was applied).
      read_back(*store, input);
    } catch (const h5tx::Error&) {
    }
    store->close();
  } catch (const h5tx::Error&) {
  } catch (const std::bad_alloc& e) {
    escaped = std::string("std::bad_alloc escaped: ") + e.what();
  } catch (const std::exception& e) {
    escaped = std::string("a non-h5tx exception escaped: ") + e.what();
  } catch (...) {
    escaped = "an exception of unknown type escaped";
  }
  static const bool plain =
      !std::getenv("H5TX_SFUZZ_SKIP") || !std::strstr(std::getenv("H5TX_SFUZZ_SKIP"), "plain");
  if (escaped.empty() && plain) plain_hdf5_read(s.home + "/data");
  static const bool data_check =
      !std::getenv("H5TX_SFUZZ_SKIP") || !std::strstr(std::getenv("H5TX_SFUZZ_SKIP"), "data");
  std::string lost;
  if (escaped.empty() && data_check) lost = check_committed_data(s.home, txid, input);
  std::string report;
  std::vector<std::string> seen;
  for (const auto& v : g_env->take_violations()) {
    if (std::find(seen.begin(), seen.end(), v) != seen.end()) continue;
    seen.push_back(v);
    if (seen.size() <= 12) report += "  store accessed outside HOME: " + v + "\n";
  }
  if (seen.size() > 12) report += "  ... " + std::to_string(seen.size() - 12) + " more paths outside HOME\n";
  std::string d = cs::diff_trees(before, cs::snapshot_tree(s.fence, s.home));
  if (!d.empty()) report += "  changed outside HOME (under " + s.fence + "):\n" + d;
  if (!escaped.empty()) report += "  " + escaped + "\n";
  if (!lost.empty()) report += "  " + lost + "\n";
  if (!report.empty())
    fail("failure for the MANIFEST of txid " + h5tx::journal::txid_hex(txid) + ":\n" + report);
  return 0;
}
