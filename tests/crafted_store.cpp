// Crafted redo stores: see crafted_store.hpp.
#include "crafted_store.hpp"

#include <dirent.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include <xxhash.h>

#include "h5tx/store.hpp"

namespace h5tx_test {
namespace crafted {

using h5tx::journal::Manifest;
using h5tx::journal::Op;
using h5tx::journal::OpKind;
using h5tx::journal::TxState;

namespace {

[[noreturn]] void fail(const std::string& what) {
  throw std::runtime_error("crafted_store: " + what +
                           (errno ? std::string(": ") + std::strerror(errno) : ""));
}

void write_file(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  out.close();
  if (!out) fail("cannot write " + path);
}

void make_dir(const std::string& path) {
  errno = 0;
  if (::mkdir(path.c_str(), 0755) != 0 && errno != EEXIST) fail("mkdir " + path);
  errno = 0;
}

// Little-endian writer (independent of the library's ByteWriter on purpose).
struct Out {
  std::string s;
  void u8(uint8_t v) { s.push_back(static_cast<char>(v)); }
  void le(uint64_t v, int n) {
    for (int i = 0; i < n; i++) s.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
  }
  void u32(uint32_t v) { le(v, 4); }
  void u64(uint64_t v) { le(v, 8); }
  void f64(double d) {
    uint64_t bits;
    std::memcpy(&bits, &d, 8);
    u64(bits);
  }
  void str(const std::string& v) {
    u32(static_cast<uint32_t>(v.size()));
    s += v;
  }
  void dims(const h5tx::Shape& d) {
    for (uint64_t x : d) u64(x);
  }
};

}  // namespace

h5tx::DatasetSpec grid_spec(bool compress) {
  h5tx::DatasetSpec s;
  s.dtype = h5tx::DType::U32;
  s.shape = {16, 32};
  s.max_shape = {h5tx::kUnlimited, 32};
  s.chunk = {8, 8};
  s.fill_value = 0;
  s.compression = compress ? h5tx::Compression::ShuffleDeflate : h5tx::Compression::None;
  s.deflate_level = 4;
  s.fletcher32 = compress;
  return s;
}

std::string chunk_bytes(uint32_t seed, uint64_t r, uint64_t c) {
  std::string out(kChunkBytes, '\0');
  for (uint32_t i = 0; i < kChunkBytes / 4; i++) {
    uint32_t v = seed * 1000003u + uint32_t(r) * 7919u + uint32_t(c) * 104729u + i;
    std::memcpy(&out[i * 4], &v, 4);
  }
  return out;
}

void make_store(const std::string& home) {
  auto store = h5tx::Store::create(home);
  {
    auto tx = store->begin();
    tx.create_file(kFile);
    tx.create_dataset(kFile, kGrid, grid_spec(false));
    tx.create_dataset(kFile, kZipped, grid_spec(true));
    std::string a = chunk_bytes(1, 0, 0), b = chunk_bytes(2, 0, 0);
    tx.write_chunk(kFile, kGrid, {0, 0}, a.data(), a.size());
    tx.write_chunk(kFile, kZipped, {0, 0}, b.data(), b.size());
    tx.set_message("crafted_store base");
    tx.commit();
  }
  store->flush();
  store->close();
}

uint64_t unused_txid(const std::string& home) {
  std::ifstream in(home + "/TXID");
  std::string hex;
  if (!(in >> hex) || hex.size() != 16) fail("cannot read " + home + "/TXID");
  return std::stoull(hex, nullptr, 16);
}

std::string tx_dir(const std::string& home, uint64_t txid, TxState state) {
  return home + "/journal/" + h5tx::journal::tx_dir_name(txid, state);
}

CraftedTx::CraftedTx(uint64_t txid) {
  m_.txid = txid;
  m_.commit_time_micros = 1700000000000000ULL;
  m_.message = "crafted";
}

CraftedTx& CraftedTx::create_file(const std::string& file) {
  Op op;
  op.kind = OpKind::CreateFile;
  op.file = file;
  m_.ops.push_back(op);
  inline_.emplace_back();
  return *this;
}

CraftedTx& CraftedTx::create_dataset(const std::string& file, const std::string& path,
                                     const h5tx::DatasetSpec& spec) {
  Op op;
  op.kind = OpKind::CreateDataset;
  op.file = file;
  op.path = path;
  op.spec = spec;
  if (op.spec.max_shape.empty()) op.spec.max_shape = op.spec.shape;
  m_.ops.push_back(op);
  inline_.emplace_back();
  return *this;
}

CraftedTx& CraftedTx::extend_dataset(const std::string& file, const std::string& path,
                                     const h5tx::Shape& extent) {
  Op op;
  op.kind = OpKind::ExtendDataset;
  op.file = file;
  op.path = path;
  op.shape = extent;
  m_.ops.push_back(op);
  inline_.emplace_back();
  return *this;
}

CraftedTx& CraftedTx::set_attribute(const std::string& file, const std::string& object,
                                    const std::string& name, const h5tx::AttributeValue& value) {
  Op op;
  op.kind = OpKind::SetAttribute;
  op.file = file;
  op.path = object;
  op.name = name;
  op.attr = value;
  m_.ops.push_back(op);
  inline_.emplace_back();
  return *this;
}

CraftedTx& CraftedTx::write_chunk_inline(const std::string& file, const std::string& dataset,
                                         const h5tx::Shape& coords, const std::string& stored,
                                         uint32_t filter_mask) {
  Op op;
  op.kind = OpKind::WriteChunk;
  op.file = file;
  op.path = dataset;
  op.shape = coords;
  op.filter_mask = filter_mask;
  op.chunk_file = "";
  op.chunk_size = stored.size();
  op.chunk_hash = XXH3_64bits(stored.data(), stored.size());
  m_.ops.push_back(op);
  inline_.push_back(stored);
  return *this;
}

CraftedTx& CraftedTx::write_chunk_spilled(const std::string& file, const std::string& dataset,
                                          const h5tx::Shape& coords, const std::string& stored,
                                          uint32_t filter_mask) {
  uint64_t offset = spill_.size();
  spill_ += stored;
  return write_chunk_ref(file, dataset, coords, h5tx::journal::kSpillFileName, offset, stored.size(),
                         XXH3_64bits(stored.data(), stored.size()), filter_mask);
}

CraftedTx& CraftedTx::write_chunk_ref(const std::string& file, const std::string& dataset,
                                      const h5tx::Shape& coords, const std::string& chunk_file,
                                      uint64_t offset, uint64_t size, uint64_t hash, uint32_t filter_mask) {
  if (chunk_file.empty())
    throw std::invalid_argument("write_chunk_ref: use write_chunk_inline for inline copies");
  Op op;
  op.kind = OpKind::WriteChunk;
  op.file = file;
  op.path = dataset;
  op.shape = coords;
  op.filter_mask = filter_mask;
  op.chunk_file = chunk_file;
  op.chunk_offset = offset;
  op.chunk_size = size;
  op.chunk_hash = hash;
  m_.ops.push_back(op);
  inline_.emplace_back();
  return *this;
}

CraftedTx& CraftedTx::append_spill(const std::string& bytes) {
  spill_ += bytes;
  return *this;
}

std::string CraftedTx::manifest_file() const {
  Manifest m = m_;
  std::string data;
  for (size_t i = 0; i < m.ops.size(); i++) {
    Op& op = m.ops[i];
    if (op.kind != OpKind::WriteChunk || !op.chunk_file.empty()) continue;
    op.chunk_offset = data.size();
    data += inline_[i];
  }
  return encode_record(m, data.size()) + data;
}

std::string CraftedTx::write(const std::string& home, TxState state) const {
  std::string dir = tx_dir(home, m_.txid, state);
  make_dir(dir);
  write_file(dir + "/" + h5tx::journal::kManifestName, manifest_file());
  if (!spill_.empty()) write_file(dir + "/" + h5tx::journal::kSpillFileName, spill_);
  return dir;
}

std::string encode_record(const Manifest& m, uint64_t inline_bytes) {
  Out w;
  w.s.append("H5TXRDO\n", 8);
  w.u32(2);  // version
  w.u32(0);  // flags
  w.u64(m.txid);
  w.u64(m.commit_time_micros);
  w.u64(0);  // record length, patched below
  w.str(m.message);
  w.u32(static_cast<uint32_t>(m.metadata.size()));
  for (const auto& kv : m.metadata) {
    w.str(kv.first);
    w.str(kv.second);
  }
  w.u32(static_cast<uint32_t>(m.ops.size()));
  for (const Op& op : m.ops) {
    w.u8(static_cast<uint8_t>(op.kind));
    w.str(op.file);
    switch (op.kind) {
      case OpKind::CreateFile:
        break;
      case OpKind::CreateDataset: {
        const h5tx::DatasetSpec& s = op.spec;
        w.str(op.path);
        w.u8(static_cast<uint8_t>(s.dtype));
        w.u8(static_cast<uint8_t>(s.shape.size()));
        w.dims(s.shape);
        w.dims(s.max_shape.empty() ? s.shape : s.max_shape);
        w.dims(s.chunk);
        w.f64(s.fill_value);
        w.u8(static_cast<uint8_t>(s.compression));
        w.u8(static_cast<uint8_t>(s.deflate_level));
        w.u8(s.fletcher32 ? 1 : 0);
        break;
      }
      case OpKind::ExtendDataset:
        w.str(op.path);
        w.u8(static_cast<uint8_t>(op.shape.size()));
        w.dims(op.shape);
        break;
      case OpKind::SetAttribute:
        w.str(op.path);
        w.str(op.name);
        w.u8(op.attr.is_string ? 1 : 0);
        w.u8(static_cast<uint8_t>(op.attr.dtype));
        if (op.attr.is_string)
          w.str(op.attr.text);
        else
          w.str(std::string(op.attr.bytes.begin(), op.attr.bytes.end()));
        break;
      case OpKind::WriteChunk:
        w.str(op.path);
        w.u8(static_cast<uint8_t>(op.shape.size()));
        w.dims(op.shape);
        w.u32(op.filter_mask);
        w.str(op.chunk_file);
        w.u64(op.chunk_offset);
        w.u64(op.chunk_size);
        w.u64(op.chunk_hash);
        break;
      default:  // an unknown kind: the byte alone
        break;
    }
  }
  w.u64(inline_bytes);
  uint64_t total = w.s.size() + 8;
  for (int i = 0; i < 8; i++) w.s[32 + i] = static_cast<char>((total >> (8 * i)) & 0xff);
  w.u64(XXH3_64bits(w.s.data(), w.s.size()));
  return w.s;
}

void make_symlink_entry(const std::string& home, const std::string& name, const std::string& target) {
  std::string link = home + "/journal/" + name;
  errno = 0;
  if (::symlink(target.c_str(), link.c_str()) != 0) fail("symlink " + link);
}

std::string make_fifo_manifest(const std::string& home, uint64_t txid) {
  std::string dir = tx_dir(home, txid, TxState::Done);
  make_dir(dir);
  std::string fifo = dir + "/" + h5tx::journal::kManifestName;
  errno = 0;
  if (::mkfifo(fifo.c_str(), 0644) != 0) fail("mkfifo " + fifo);
  return dir;
}

std::string make_empty_tx_dir(const std::string& home, uint64_t txid, TxState state) {
  std::string dir = tx_dir(home, txid, state);
  make_dir(dir);
  return dir;
}

namespace {

void walk(const std::string& root, const std::string& rel, const std::string& exclude, TreeSnapshot* out) {
  std::string dir = rel.empty() ? root : root + "/" + rel;
  DIR* d = ::opendir(dir.c_str());
  if (!d) return;  // vanished or unreadable: its entry's stamp still differs
  std::vector<std::string> names;
  while (dirent* e = ::readdir(d)) {
    std::string n = e->d_name;
    if (n != "." && n != "..") names.push_back(n);
  }
  ::closedir(d);
  for (const auto& n : names) {
    std::string r = rel.empty() ? n : rel + "/" + n;
    std::string full = root + "/" + r;
    if (!exclude.empty() && full == exclude) continue;
    struct stat st;
    if (::lstat(full.c_str(), &st) != 0) continue;
    Stamp s;
    s.type = S_ISREG(st.st_mode)    ? 'f'
             : S_ISDIR(st.st_mode)  ? 'd'
             : S_ISLNK(st.st_mode)  ? 'l'
             : S_ISFIFO(st.st_mode) ? 'p'
                                    : 'o';
    s.size = s.type == 'd' ? 0 : static_cast<uint64_t>(st.st_size);
    s.mtime_ns = int64_t(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec;
    if (s.type == 'l') {
      char buf[4096];
      ssize_t k = ::readlink(full.c_str(), buf, sizeof buf);
      if (k > 0) s.link.assign(buf, static_cast<size_t>(k));
    }
    (*out)[r] = s;
    if (s.type == 'd') walk(root, r, exclude, out);
  }
}

std::string describe(const Stamp& s) {
  std::ostringstream o;
  o << s.type << " size " << s.size << " mtime " << s.mtime_ns;
  if (!s.link.empty()) o << " -> " << s.link;
  return o.str();
}

}  // namespace

TreeSnapshot snapshot_tree(const std::string& root, const std::string& exclude) {
  TreeSnapshot t;
  walk(root, "", exclude, &t);
  return t;
}

std::string diff_trees(const TreeSnapshot& before, const TreeSnapshot& after) {
  std::ostringstream o;
  for (const auto& kv : before) {
    auto it = after.find(kv.first);
    if (it == after.end())
      o << "removed: " << kv.first << "\n";
    else if (it->second != kv.second)
      o << "changed: " << kv.first << " (" << describe(kv.second) << " -> " << describe(it->second) << ")\n";
  }
  for (const auto& kv : after)
    if (!before.count(kv.first)) o << "created: " << kv.first << " (" << describe(kv.second) << ")\n";
  return o.str();
}

}  // namespace crafted
}  // namespace h5tx_test
