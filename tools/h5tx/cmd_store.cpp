// Store commands: init, create-dataset, ls, log, get, flush, recover, stats.
#include <sys/sysmacros.h>
#include <sys/types.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <type_traits>
#include <cinttypes>
#include <cstdio>
#include <cstring>

#include <hdf5.h>

#include "chunk_grid.hpp"
#include "commands.hpp"
#include "hdf5/dtype_map.hpp"
#include "hdf5/handle.hpp"
#include "journal/tx_dir.hpp"
#include "util/names.hpp"
#include "h5tx/backup.hpp"
#include "h5tx/env.hpp"
#include "ingest.hpp"
#include "json.hpp"

namespace h5tx {
namespace cli {

namespace {

std::string describe_spec(const DatasetSpec& s) {
  std::string out = std::string(dtype_name(s.dtype)) + "  " + format_shape(s.shape, "x");
  if (!s.max_shape.empty() && s.max_shape != s.shape) out += " (max " + format_shape(s.max_shape, "x") + ")";
  out += "  chunk " + format_shape(s.chunk, "x");
  if (s.compression == Compression::ShuffleDeflate) out += "  deflate:" + std::to_string(s.deflate_level);
  if (s.fletcher32) out += "  fletcher32";
  return out;
}

void append_value(DType t, const uint8_t* p, std::string* out);

// An attribute's value as ls prints it: "text", a number, or dtype[a, b, ...].
std::string attribute_text(const AttributeValue& v) {
  if (v.is_string) return "\"" + names::printable(v.text) + "\"";
  std::string out = std::string(dtype_name(v.dtype)) + " ";
  size_t n = v.count(), es = dtype_size(v.dtype);
  if (n != 1) out += "[";
  for (size_t i = 0; i < n && i < 16; i++) {
    if (i) out += ", ";
    append_value(v.dtype, v.bytes.data() + i * es, &out);
  }
  if (n > 16) out += ", ... (" + std::to_string(n) + " values)";
  if (n != 1) out += "]";
  return out;
}

void print_attributes(Transaction& tx, const std::string& file, const std::string& object,
                      const char* indent) {
  for (const std::string& n : tx.list_attributes(file, object)) {
    std::string value;
    try {
      value = attribute_text(tx.get_attribute(file, object, n));
    } catch (const UnsupportedError& e) {
      value = "(" + e.detail() + ")";  // written by another tool in a form h5tx does not read
    }
    std::printf("%s@%s = %s\n", indent, names::printable(n).c_str(), value.c_str());
  }
}

// {"name": {"dtype": "f64", "value": 1.5}, ...}: a string's dtype is
// "string"; a 1-D attribute's value is an array; one h5tx cannot read is
// {"dtype": null, "unsupported": "why"}.
void json_attributes(Json& j, Transaction& tx, const std::string& file, const std::string& object) {
  j.begin_object();
  for (const std::string& n : tx.list_attributes(file, object)) {
    j.key(n).begin_object();
    try {
      const AttributeValue v = tx.get_attribute(file, object, n);
      if (v.is_string) {
        j.field("dtype", "string").field("value", v.text);
      } else {
        j.field("dtype", dtype_name(v.dtype)).key("value");
        const size_t es = dtype_size(v.dtype);
        if (v.count() == 1) {
          j.element(v.dtype, v.bytes.data());
        } else {
          j.begin_array();
          for (size_t i = 0; i < v.count(); i++) j.element(v.dtype, v.bytes.data() + i * es);
          j.end_array();
        }
      }
    } catch (const UnsupportedError& e) {
      j.key("dtype").null().field("unsupported", e.detail());
    }
    j.end_object();
  }
  j.end_object();
}

void json_spec(Json& j, const DatasetSpec& s) {
  j.field("dtype", dtype_name(s.dtype)).key("shape").shape(s.shape);
  j.key("max_shape").shape(s.max_shape.empty() ? s.shape : s.max_shape);
  j.key("chunk").shape(s.chunk);
  j.field("compression", s.compression == Compression::ShuffleDeflate ? "shuffle+deflate" : "none");
  if (s.compression == Compression::ShuffleDeflate) j.field("deflate_level", s.deflate_level);
  j.field("fletcher32", s.fletcher32).field("fill_value", s.fill_value);
}

// --- init ------------------------------------------------------------------

int run_init(const Args& a) {
  Options o;
  std::string mode = a.get("mode", "redo");
  if (mode == "redo")
    o.mode = Mode::Redo;
  else if (mode == "undo")
    o.mode = Mode::Undo;
  else
    throw UsageError("--mode must be redo or undo, not '" + mode + "'");
  if (a.flags.count("history")) o.history = true;
  std::unique_ptr<Store> s = Store::create(a.positional[0], o);
  s->close();
  std::printf("created %s-mode store %s%s\n", mode.c_str(), a.positional[0].c_str(),
              o.history ? " (keeping history)" : "");
  return 0;
}

// --- create-dataset --------------------------------------------------------

int run_create_dataset(const Args& a) {
  Target t = parse_target(a.positional[1]);
  if (!a.has("dtype") || !a.has("shape") || !a.has("chunk"))
    throw UsageError("create-dataset needs --dtype, --shape and --chunk");
  DatasetSpec spec;
  spec.dtype = parse_dtype_arg(a.get("dtype"));
  spec.shape = parse_shape(a.get("shape"), "--shape", true);
  spec.chunk = parse_shape(a.get("chunk"), "--chunk");
  if (a.has("maxshape")) spec.max_shape = parse_shape(a.get("maxshape"), "--maxshape", true, true);
  if (spec.chunk.size() != spec.shape.size() ||
      (!spec.max_shape.empty() && spec.max_shape.size() != spec.shape.size()))
    throw UsageError("--shape, --maxshape and --chunk must have the same number of dimensions");
  int level = a.has("compress") ? parse_compress(a.get("compress")) : 0;
  if (level) {
    spec.compression = Compression::ShuffleDeflate;
    spec.deflate_level = level;
  }
  spec.fletcher32 = !a.flags.count("no-checksum");
  spec.fill_value = a.get_number("fill", 0);
  std::unique_ptr<Store> s = open_store(a, false);
  Transaction tx = s->begin();
  std::vector<std::string> files = tx.list_files();
  if (std::find(files.begin(), files.end(), t.file) == files.end()) tx.create_file(t.file);
  tx.create_dataset(t.file, t.path, spec);
  tx.set_message("h5tx create-dataset " + t.file + ":" + t.path);
  tx.commit();
  uint64_t txid = tx.txid();
  s->close();
  std::printf("created %s:%s  %s  (txid %s)\n", t.file.c_str(), t.path.c_str(), describe_spec(spec).c_str(),
              hex16(txid).c_str());
  return 0;
}

// --- ls ----------------------------------------------------------------------

int run_ls(const Args& a) {
  const bool json = a.flags.count("json") > 0;
  std::unique_ptr<Store> s = open_store(a, true);
  TxOptions ro;
  ro.read_only = true;
  Transaction tx = s->begin(ro);
  const char* mode = s->mode() == Mode::Redo ? "redo" : "undo";
  Json j;
  j.begin_object().field("store", s->home()).field("mode", mode).key("files").begin_array();
  if (!json) std::printf("store %s (%s mode)\n", s->home().c_str(), mode);
  std::vector<std::string> files = tx.list_files();
  std::sort(files.begin(), files.end());
  // The resume records of `h5tx ingest` are not a user file: only with --all.
  auto ingest_file = std::find(files.begin(), files.end(), std::string(kIngestFile));
  const bool hide_ingest = ingest_file != files.end() && !a.flags.count("all");
  if (hide_ingest) files.erase(ingest_file);
  if (files.empty() && !json) std::printf("no files\n");
  for (const std::string& f : files) {
    j.begin_object().field("name", f).key("attributes");
    json_attributes(j, tx, f, "/");
    j.key("objects").begin_array();
    if (!json) {
      std::printf("%s\n", f.c_str());
      print_attributes(tx, f, "/", "  ");
    }
    std::vector<std::string> ds = tx.list_datasets(f);
    std::sort(ds.begin(), ds.end());
    for (const std::string& obj : objects_of(ds)) {
      const bool group = !std::binary_search(ds.begin(), ds.end(), obj);
      if (group && tx.list_attributes(f, obj).empty()) continue;  // a group: shown if it has attributes
      bool managed = true;
      j.begin_object().field("path", obj).field("kind", group ? "group" : "dataset");
      if (group) {
        if (!json) std::printf("  %-24s group\n", obj.c_str());
      } else {
        try {
          const DatasetSpec spec = tx.dataset_spec(f, obj);
          json_spec(j, spec);
          if (!json) std::printf("  %-24s %s\n", obj.c_str(), describe_spec(spec).c_str());
        } catch (const UnsupportedError& e) {
          managed = false;
          // Written by another tool in a form h5tx does not manage (contiguous,
          // compact, big-endian, strings, compound, ...): listed, not fatal.
          j.field("managed", false).field("unsupported", e.detail());
          if (!json) std::printf("  %-24s (not managed by h5tx: %s)\n", obj.c_str(), e.detail().c_str());
        }
      }
      j.key("attributes");
      if (managed) {
        json_attributes(j, tx, f, obj);
      } else {
        j.begin_object().end_object();  // (the store's attribute API works on datasets it manages)
      }
      j.end_object();
      if (!json && managed) print_attributes(tx, f, obj, "    ");
    }
    j.end_array().end_object();
  }
  j.end_array().key("hidden_files").begin_array();
  if (hide_ingest) j.value(kIngestFile);
  j.end_array();
  if (hide_ingest && !json)
    std::printf("(%s, the resume records of h5tx ingest, not shown: h5tx ingest HOME --list; ls --all)\n",
                kIngestFile);
  tx.abort();
  std::vector<TransactionInfo> pending = s->pending();
  uint64_t bytes = 0;
  for (const TransactionInfo& t : pending) bytes += t.bytes;
  j.key("pending").begin_object().field("transactions", uint64_t(pending.size())).field("bytes", bytes);
  if (pending.empty())
    j.key("first_txid").null().key("last_txid").null();
  else
    j.field("first_txid", hex16(pending.front().txid)).field("last_txid", hex16(pending.back().txid));
  j.end_object().end_object();
  if (json)
    j.print();
  else if (s->mode() == Mode::Undo)
    std::printf("undo mode: every commit is in data/ when it returns\n");
  else if (pending.empty())
    std::printf("pending transactions: none (everything is flushed)\n");
  else
    std::printf("pending transactions: %zu (%s), txids %s .. %s (see h5tx log)\n", pending.size(),
                format_bytes(double(bytes)).c_str(), hex16(pending.front().txid).c_str(),
                hex16(pending.back().txid).c_str());
  s->close();
  return 0;
}

// --- log ---------------------------------------------------------------------

int run_log(const Args& a) {
  const bool json = a.flags.count("json") > 0;
  std::unique_ptr<Store> s = open_store(a, true);
  std::vector<TransactionInfo> pending = s->pending();
  if (json) {
    Json j;
    j.begin_object().field("store", s->home()).field("mode", s->mode() == Mode::Redo ? "redo" : "undo");
    j.key("pending").begin_array();
    for (const TransactionInfo& t : pending) {
      j.begin_object().field("txid", hex16(t.txid)).field("commit_time_micros", t.commit_time_micros);
      j.field("commit_time", format_time_micros(t.commit_time_micros)).field("bytes", t.bytes);
      j.field("operations", t.operations).field("message", t.message).key("metadata").string_map(t.metadata);
      j.end_object();
    }
    j.end_array().end_object().print();
    s->close();
    return 0;
  }
  if (s->mode() == Mode::Undo)
    std::printf("undo mode: no journal of committed transactions (commits write data/)\n");
  else if (pending.empty())
    std::printf("no pending transactions (everything is flushed)\n");
  for (const TransactionInfo& t : pending) {
    std::printf("txid %s  %s  %s  %" PRIu64 " ops  %s\n", hex16(t.txid).c_str(),
                format_time_micros(t.commit_time_micros).c_str(), format_bytes(double(t.bytes)).c_str(),
                t.operations, names::printable(t.message).c_str());
    for (const auto& kv : t.metadata)
      std::printf("    %s = %s\n", names::printable(kv.first).c_str(), names::printable(kv.second).c_str());
  }
  s->close();
  return 0;
}

// --- get ---------------------------------------------------------------------

template <class T>
void print_value(const uint8_t* p, std::string* out) {
  T v;
  std::memcpy(&v, p, sizeof v);
  char buf[40];
  if (std::is_floating_point<T>::value)
    std::snprintf(buf, sizeof buf, sizeof(T) == 4 ? "%.9g" : "%.17g", double(v));
  else if (std::is_signed<T>::value)
    std::snprintf(buf, sizeof buf, "%lld", (long long)v);
  else
    std::snprintf(buf, sizeof buf, "%llu", (unsigned long long)v);
  *out += buf;
}

void append_value(DType t, const uint8_t* p, std::string* out) {
  switch (t) {
    case DType::U8:
      print_value<uint8_t>(p, out);
      break;
    case DType::U16:
      print_value<uint16_t>(p, out);
      break;
    case DType::U32:
      print_value<uint32_t>(p, out);
      break;
    case DType::U64:
      print_value<uint64_t>(p, out);
      break;
    case DType::I8:
      print_value<int8_t>(p, out);
      break;
    case DType::I16:
      print_value<int16_t>(p, out);
      break;
    case DType::I32:
      print_value<int32_t>(p, out);
      break;
    case DType::I64:
      print_value<int64_t>(p, out);
      break;
    case DType::F32:
      print_value<float>(p, out);
      break;
    case DType::F64:
      print_value<double>(p, out);
      break;
  }
}

// Text: one line per row of the last dimension, prefixed with the index of
// the row's first element (relative to `origin`, the block's position).
void print_text(DType t, const Shape& shape, const Shape& origin, const std::vector<uint8_t>& data) {
  const size_t es = dtype_size(t), rank = shape.size();
  uint64_t rows = 1;
  for (size_t d = 0; d + 1 < rank; d++) rows *= shape[d];
  Shape idx(rank, 0);
  const uint8_t* p = data.data();
  std::string line;
  for (uint64_t r = 0; r < rows; r++) {
    line = "[";
    for (size_t d = 0; d < rank; d++) line += (d ? "," : "") + std::to_string(origin[d] + idx[d]);
    line += "]";
    for (uint64_t x = 0; x < shape[rank - 1]; x++, p += es) {
      line += ' ';
      append_value(t, p, &line);
    }
    line += '\n';
    std::fputs(line.c_str(), stdout);
    for (size_t d = rank - 1; d-- > 0;) {
      if (++idx[d] < shape[d]) break;
      idx[d] = 0;
    }
  }
}

// A dataset h5tx does not manage (contiguous, compact, big-endian, other
// filters) with a numeric type, read with plain H5Dread from the flushed
// data file, read-only, after the store is closed. In redo mode the store
// must have no pending transactions (the journal could hold changes to the
// file that data/ does not have yet): refused with "run h5tx flush" instead.
void get_unmanaged(const Args& a, const Target& t, std::unique_ptr<Store> s, Transaction tx,
                   const std::string& why, DType* dtype, Shape* origin, Shape* count,
                   std::vector<uint8_t>* data) {
  const std::string where = t.file + ":" + t.path;
  if (a.has("at"))
    throw UsageError(where + " is not managed by h5tx (" + why + "): it has no history, --at cannot read it");
  const size_t pending = s->pending().size();
  const std::string path = path_join(path_join(s->home(), "data"), t.file);
  const std::string home = s->home();
  tx.abort();
  s->close();
  if (a.has("chunk"))
    throw UsageError(where + " is not managed by h5tx (" + why + "): it has no h5tx chunks, use --slice");
  if (pending > 0)
    throw InvalidArgumentError(where, "not managed by h5tx (" + why + "); get reads it from data/" + t.file +
                                          " directly, but the store has " + std::to_string(pending) +
                                          " pending transactions: run h5tx flush " + home + " first");
  hdf5::silence_error_printing();
  hdf5::Handle f(H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT), "cannot open", path);
  hdf5::Handle d(H5Dopen2(f.get(), t.path.c_str(), H5P_DEFAULT), "cannot open dataset", where);
  hdf5::Handle type(H5Dget_type(d.get()), "cannot read the type", where);
  const H5T_class_t cls = H5Tget_class(type.get());
  if (cls != H5T_INTEGER && cls != H5T_FLOAT)
    throw UnsupportedError(where, "not managed by h5tx (" + why + "); get reads numeric datasets only");
  *dtype = hdf5::dtype_of_hdf5(type.get(), where, hdf5::ByteOrder::Any);
  hdf5::Handle space(H5Dget_space(d.get()), "cannot read the dataspace", where);
  const int rank = H5Sget_simple_extent_ndims(space.get());
  if (rank < 1) throw UnsupportedError(where, "a scalar or null dataspace: nothing to slice");
  std::vector<hsize_t> dims(static_cast<size_t>(rank));
  H5Sget_simple_extent_dims(space.get(), dims.data(), nullptr);
  parse_slice(a.get("slice"), Shape(dims.begin(), dims.end()), origin, count);
  std::vector<hsize_t> st(origin->begin(), origin->end()), c(count->begin(), count->end());
  uint64_t n = dtype_size(*dtype);
  for (uint64_t x : *count) n *= x;
  data->resize(size_t(n));
  hdf5::check(H5Sselect_hyperslab(space.get(), H5S_SELECT_SET, st.data(), nullptr, c.data(), nullptr),
              "cannot select a hyperslab", where);
  hdf5::Handle mspace(H5Screate_simple(rank, c.data(), nullptr), "cannot create a dataspace", where);
  hdf5::check(H5Dread(d.get(), hdf5::mem_type(*dtype), mspace.get(), space.get(), H5P_DEFAULT, data->data()),
              "cannot read", where);
}

int run_get(const Args& a) {
  Target t = parse_target(a.positional[1]);
  if (a.has("chunk") == a.has("slice")) throw UsageError("get needs exactly one of --chunk and --slice");
  if (a.flags.count("raw") && a.flags.count("text")) throw UsageError("--raw and --text exclude each other");
  bool raw = a.flags.count("raw") > 0;
  std::unique_ptr<Store> s = open_store(a, true);
  Transaction tx = s->begin(read_tx_options(a));
  DatasetSpec spec;
  try {
    spec = tx.dataset_spec(t.file, t.path);
  } catch (const UnsupportedError& e) {
    Shape origin, count;
    std::vector<uint8_t> data;
    DType dtype = DType::U8;
    get_unmanaged(a, t, std::move(s), std::move(tx), e.detail(), &dtype, &origin, &count, &data);
    if (raw) {
      if (std::fwrite(data.data(), 1, data.size(), stdout) != data.size() || std::fflush(stdout) != 0)
        throw IoError("<stdout>", std::string("cannot write: ") + std::strerror(errno), errno);
    } else {
      print_text(dtype, count, origin, data);
    }
    return 0;
  }
  std::vector<uint8_t> data;
  Shape shape, origin;
  if (a.has("chunk")) {
    Shape coords = parse_shape(a.get("chunk"), "--chunk", true);
    ChunkGrid grid(spec.shape, spec.chunk);
    if (coords.size() != spec.shape.size())
      throw UsageError("--chunk " + a.get("chunk") + " has " + std::to_string(coords.size()) +
                       " coordinates, the dataset has " + std::to_string(spec.shape.size()) + " dimensions");
    for (size_t d = 0; d < coords.size(); d++)
      if (coords[d] >= grid.grid()[d])
        throw UsageError("--chunk " + a.get("chunk") + " is outside the chunk grid " +
                         format_shape(grid.grid(), "x"));
    data = tx.read_chunk(t.file, t.path, coords);
    shape = spec.chunk;
    for (size_t d = 0; d < coords.size(); d++) origin.push_back(coords[d] * spec.chunk[d]);
  } else {
    Shape count;
    parse_slice(a.get("slice"), spec.shape, &origin, &count);
    uint64_t n = dtype_size(spec.dtype);
    for (uint64_t c : count) n *= c;
    data.resize(size_t(n));
    tx.read(t.file, t.path, origin, count, spec.dtype, data.data());
    shape = count;
  }
  tx.abort();
  s->close();
  if (raw) {
    if (std::fwrite(data.data(), 1, data.size(), stdout) != data.size() || std::fflush(stdout) != 0)
      throw IoError("<stdout>", std::string("cannot write: ") + std::strerror(errno), errno);
  } else {
    print_text(spec.dtype, shape, origin, data);
  }
  return 0;
}

// --- flush -------------------------------------------------------------------

int run_flush(const Args& a) {
  std::unique_ptr<Store> s = open_store(a, false);
  std::vector<TransactionInfo> pending = s->pending();
  uint64_t bytes = 0;
  for (const TransactionInfo& t : pending) bytes += t.bytes;
  Mode mode = s->mode();
  s->flush();
  s->close();
  if (mode == Mode::Undo)
    std::printf("undo-mode store: nothing to flush (commits write the files)\n");
  else
    std::printf("flushed %zu transactions (%s) into data/\n", pending.size(),
                format_bytes(double(bytes)).c_str());
  return 0;
}

// --- recover -----------------------------------------------------------------

struct JournalCounts {
  size_t temp = 0, done = 0, flushed = 0, undo = 0, undo_committed = 0;
  size_t spare = 0;         // of temp: spare directories (no transaction)
  uint64_t temp_bytes = 0;  // held by the unfinished transactions
};

JournalCounts count_journal(const std::string& home) {
  JournalCounts c;
  Env* env = Env::posix();
  std::string dir = path_join(home, "journal");
  if (!env->is_directory(dir)) return c;
  for (const std::string& n : env->list_dir(dir)) {
    uint64_t txid;
    journal::TxState state;
    bool committed;
    if (journal::parse_tx_dir_name(n, &txid, &state)) {
      (state == journal::TxState::Temp ? c.temp : state == journal::TxState::Done ? c.done : c.flushed)++;
      if (state == journal::TxState::Temp && env->is_directory(path_join(dir, n))) {
        try {
          TempDirKind k = classify_temp_dir(*env, path_join(dir, n));
          if (k.spare) c.spare++;
          c.temp_bytes += k.bytes;
        } catch (const NotFoundError&) {
          // Taken or removed by a live writer since the listing.
        }
      }
    } else if (journal::parse_undo_store_dir_name(n, &txid, &committed)) {
      (committed ? c.undo_committed : c.undo)++;
    }
  }
  return c;
}

int run_recover(const Args& a) {
  if (a.has("quarantine")) {
    std::string t = a.get("quarantine", "");
    if (t.empty() || t.size() > 16 || t.find_first_not_of("0123456789abcdefABCDEF") != std::string::npos)
      throw UsageError("--quarantine '" + t +
                       "' is not a transaction id (up to 16 hex digits, as h5tx log prints)");
    Options o;
    o.lock_timeout = a.get_seconds("lock-timeout", 10);
    Store::quarantine(a.positional[0], std::stoull(t, nullptr, 16), o);
    std::printf("moved transaction %s of %s to %s/quarantine/ (not applied; nothing deleted)\n", t.c_str(),
                a.positional[0].c_str(), a.positional[0].c_str());
    return 0;
  }
  JournalCounts before = count_journal(a.positional[0]);
  std::unique_ptr<Store> s = open_store(a, false);  // opening runs recovery
  std::vector<TransactionInfo> pending = s->pending();
  Mode mode = s->mode();
  s->close();  // flushes what was rolled forward
  JournalCounts after = count_journal(a.positional[0]);
  std::printf("recovered %s (%s mode)\n", a.positional[0].c_str(), mode == Mode::Redo ? "redo" : "undo");
  if (mode == Mode::Redo) {
    std::printf("  uncommitted transactions discarded (_temp):    %zu (%s)\n", before.temp - before.spare,
                format_bytes(double(before.temp_bytes)).c_str());
    std::printf("  spare directories removed (empty _temp):       %zu\n", before.spare);
    std::printf("  interrupted flush batches reverted (undo_*):   %zu\n", before.undo);
    std::printf(
        "  committed transactions in the journal (_done):  %zu (%zu pending after recovery, now flushed)\n",
        before.done, pending.size());
    std::printf("  leftovers of finished flushes removed:         %zu\n", before.flushed);
  } else {
    std::printf("  unfinished transactions reverted (undo_*):     %zu\n", before.undo);
    std::printf("  leftovers of committed transactions removed:   %zu\n", before.undo_committed);
  }
  if (after.temp + after.done + after.flushed + after.undo + after.undo_committed != 0)
    std::printf("  journal not empty after closing: %zu _temp, %zu _done, %zu _flushed, %zu undo dirs\n",
                after.temp, after.done, after.flushed, after.undo + after.undo_committed);
  return 0;
}

// --- stats -------------------------------------------------------------------

uint64_t tree_bytes(Env* env, const std::string& dir, uint64_t* files) {
  uint64_t total = 0;
  if (!env->is_directory(dir)) return 0;
  for (const std::string& n : env->list_dir(dir)) {
    std::string p = path_join(dir, n);
    try {
      if (env->is_directory(p))
        total += tree_bytes(env, p, files);
      else {
        total += env->file_size(p);
        ++*files;
      }
    } catch (const NotFoundError&) {
      // Gone since the listing: a writer's flusher recycles and removes
      // journal directories while a read-only command counts them.
    }
  }
  return total;
}

// The processes that hold HDF5's file lock (flock) on `path`, from Linux's
// /proc/locks ("N: FLOCK ADVISORY READ|WRITE <pid> <maj>:<min>:<inode> ...",
// device numbers in hex): "<pid> (READ)" each. Empty where /proc/locks is
// missing or unreadable (the line is informational only).
std::vector<std::string> flock_holders(Env* env, const std::string& locks, const std::string& path) {
  std::vector<std::string> out;
  FileIdentity id;
  try {
    id = env->open(path, OpenMode::ReadOnly)->identity();
  } catch (const Error&) {
    return out;
  }
  if (!id.known) return out;
  char key[64];
  std::snprintf(key, sizeof key, "%02x:%02x:%" PRIu64, major(static_cast<dev_t>(id.device)),
                minor(static_cast<dev_t>(id.device)), id.inode);
  size_t pos = 0;
  while (pos < locks.size()) {
    size_t nl = locks.find('\n', pos);
    if (nl == std::string::npos) nl = locks.size();
    std::string line = locks.substr(pos, nl - pos);
    pos = nl + 1;
    char kind[16], adv[16], mode[16], dev[64];
    long pid = 0;
    if (line.find("->") != std::string::npos) continue;  // a waiter, not a holder
    const char* colon = std::strchr(line.c_str(), ':');
    if (!colon || std::sscanf(colon + 1, "%15s %15s %15s %ld %63s", kind, adv, mode, &pid, dev) != 5)
      continue;
    if (std::strcmp(kind, "FLOCK") != 0 || std::strcmp(dev, key) != 0 || pid == static_cast<long>(::getpid()))
      continue;
    out.push_back(std::to_string(pid) + " (" + mode + ")");
  }
  return out;
}

std::string read_proc_locks(Env* env) {
  std::string text;
  try {
    auto f = env->open("/proc/locks", OpenMode::ReadOnly);
    char buf[65536];
    for (size_t n; text.size() < (size_t(16) << 20) && (n = f->read(text.size(), buf, sizeof buf)) > 0;)
      text.append(buf, n);
  } catch (const Error&) {
  }
  return text;
}

int run_stats(const Args& a) {
  const bool json = a.flags.count("json") > 0;
  std::unique_ptr<Store> s = open_store(a, true);
  std::vector<TransactionInfo> pending = s->pending();
  uint64_t pbytes = 0;
  for (const TransactionInfo& t : pending) pbytes += t.bytes;
  Env* env = Env::posix();
  uint64_t data_files = 0, journal_files = 0;
  uint64_t data_bytes = tree_bytes(env, path_join(s->home(), "data"), &data_files);
  uint64_t journal_bytes = tree_bytes(env, path_join(s->home(), "journal"), &journal_files);
  JournalCounts j = count_journal(s->home());
  StoreStats st = s->stats();
  // Retention slots (incremental backups, replicas) and what each pins.
  std::vector<SlotInfo> slots = s->mode() == Mode::Redo ? list_slots(s->home()) : std::vector<SlotInfo>();
  // Data files other processes hold open (h5py, h5dump): a writer of the
  // store waits for them (redo flusher) or is refused them (undo mode).
  std::vector<std::pair<std::string, std::string>> held;  // file, "pid (MODE)"
  std::string locks = read_proc_locks(env);
  std::string ddir = path_join(s->home(), "data");
  if (!locks.empty() && env->is_directory(ddir))
    for (const std::string& n : env->list_dir(ddir))
      for (const std::string& h : flock_holders(env, locks, path_join(ddir, n))) held.emplace_back(n, h);
  if (json) {
    Json o;
    o.begin_object().field("store", s->home()).field("mode", s->mode() == Mode::Redo ? "redo" : "undo");
    o.field("pending_transactions", uint64_t(pending.size())).field("pending_bytes", pbytes).key("last_txid");
    if (pending.empty())
      o.null();
    else
      o.value(hex16(pending.back().txid));
    o.key("data").begin_object().field("files", data_files).field("bytes", data_bytes).end_object();
    o.key("journal").begin_object().field("files", journal_files).field("bytes", journal_bytes);
    o.field("temp", uint64_t(j.temp)).field("done", uint64_t(j.done)).field("flushed", uint64_t(j.flushed));
    o.field("undo", uint64_t(j.undo + j.undo_committed)).end_object();
    o.key("slots").begin_array();
    for (const SlotInfo& sl : slots)
      o.begin_object()
          .field("name", sl.name)
          .field("txid", hex16(sl.txid))
          .field("damaged", sl.damaged)
          .field("pinned_bytes", sl.pinned_bytes)
          .end_object();
    o.end_array();
    if (st.history) {
      o.key("history").begin_object().field("oldest", hex16(st.history_oldest));
      o.field("segments", st.history_segments).field("bytes", st.history_bytes).end_object();
    }
    o.key("waiting_for").strings(st.waiting_for).key("held_open").begin_array();
    for (const auto& h : held) o.begin_object().field("file", h.first).field("holder", h.second).end_object();
    o.end_array().end_object().print();
    s->close();
    return 0;
  }
  std::printf("store               %s\n", s->home().c_str());
  std::printf("mode                %s\n", s->mode() == Mode::Redo ? "redo" : "undo");
  std::printf("pending             %zu transactions, %s of chunks\n", pending.size(),
              format_bytes(double(pbytes)).c_str());
  if (!pending.empty()) std::printf("last committed txid %s\n", hex16(pending.back().txid).c_str());
  std::printf("data/               %" PRIu64 " files, %s\n", data_files,
              format_bytes(double(data_bytes)).c_str());
  std::printf("journal/            %" PRIu64
              " files, %s (%zu _temp, %zu _done, %zu _flushed, %zu undo dirs)\n",
              journal_files, format_bytes(double(journal_bytes)).c_str(), j.temp, j.done, j.flushed,
              j.undo + j.undo_committed);
  for (const SlotInfo& sl : slots) {
    std::printf("slot                %s at txid %s%s: pins %s of archived transactions\n", sl.name.c_str(),
                hex16(sl.txid).c_str(), sl.damaged ? " (damaged: pins everything)" : "",
                format_bytes(double(sl.pinned_bytes)).c_str());
    // A slot nobody advances grows without bound (a piped replica without
    // --ack-from, a backup chain abandoned).
    if (sl.pinned_bytes > data_bytes / 2)
      std::fprintf(stderr,
                   "h5tx: warning: slot %s pins %s of archived transactions, more than half the size of "
                   "data/ (%s): advance it (backup --incremental; a piped replica's sender with --ack-from, "
                   "or restarted with --since) or drop it (--drop-slot %s)\n",
                   sl.name.c_str(), format_bytes(double(sl.pinned_bytes)).c_str(),
                   format_bytes(double(data_bytes)).c_str(), sl.name.c_str());
  }
  if (s->mode() == Mode::Redo)
    std::printf("flusher             runs inside the process that has the store open for writing\n");
  if (st.history)
    std::printf("history/            %" PRIu64 " segments, %s; reads as of txid %s and later\n",
                st.history_segments, format_bytes(double(st.history_bytes)).c_str(),
                hex16(st.history_oldest).c_str());
  for (const std::string& f : st.waiting_for)
    std::printf("waiting for         %s (open in another process: HDF5's file lock)\n", f.c_str());
  for (const auto& h : held)
    std::printf(
        "held open           data/%s by process %s (HDF5's file lock): the store cannot write it "
        "until that process closes it\n",
        h.first.c_str(), h.second.c_str());
  s->close();
  return 0;
}

}  // namespace

std::string attribute_value_text(const AttributeValue& v) {
  return attribute_text(v);
}

void append_element_text(DType t, const uint8_t* p, std::string* out) {
  append_value(t, p, out);
}

std::vector<Command> store_commands() {
  OptionSpec lt = lock_timeout_option();
  return {
      {{"init",
        "HOME [--mode redo|undo]",
        "Create a new store in HOME (a missing or empty directory).\n"
        "redo (default): transactions go to a redo journal, a background flusher applies them.\n"
        "undo: transactions write the HDF5 files in place under undo journals.",
        {{"mode", "MODE", "redo (default) or undo"},
         {"history", "", "keep history: reads as of older txids (redo mode; see h5tx history)"}},
        1,
        1},
       run_init},
      {{"create-dataset",
        "HOME FILE:/path --dtype DTYPE --shape SHAPE --chunk CHUNK [options]",
        "Create a chunked dataset (and the file and parent groups if missing) in one transaction.\n"
        "DTYPE is u8..u64, i8..i64, f32 or f64; shapes are comma-separated (1024,1024,512).",
        {{"dtype", "DTYPE", "element type"},
         {"shape", "SHAPE", "current extent"},
         {"maxshape", "SHAPE", "maximum extent (default: the shape); 'unlimited' per dimension"},
         {"chunk", "CHUNK", "chunk extent"},
         {"compress", "deflate:N", "shuffle + deflate at level N (1..9)"},
         {"no-checksum", "", "no Fletcher32 checksum on chunks (default: checksummed)"},
         {"fill", "VALUE",
          "fill value of unwritten elements: a number, nan, inf or -inf as the dtype allows (default 0)"},
         lt},
        2,
        2},
       run_create_dataset},
      {{"ls",
        "HOME",
        "List the store's files and datasets (dtype, shape, chunk, filters) and the attributes\n"
        "of files, groups and datasets (@name = value) as of the last commit, flushed or not,\n"
        "and the pending (committed, unflushed) transactions. A dataset h5tx does not manage\n"
        "(contiguous, compact, big-endian, strings, compound, variable-length, other filters) is\n"
        "listed as \"(not managed by h5tx: REASON)\". The resume records of h5tx ingest\n"
        "(data/.h5tx-ingest.h5) are left out: --all lists them, h5tx ingest HOME --list reads them.",
        {{"all", "", "also list data/.h5tx-ingest.h5, the resume records of h5tx ingest"}, json_option(), lt},
        1,
        1},
       run_ls},
      {{"log",
        "HOME",
        "List the committed transactions not yet flushed: txid, commit time, chunk bytes,\n"
        "operations, message and metadata.",
        {json_option(), lt},
        1,
        1},
       run_log},
      {{"get",
        "HOME FILE:/path (--chunk I,J,K | --slice A:B,C:D) [--raw|--text] [--at TXID]",
        "Print one chunk (whole, edge chunks included) or a hyperslab of a dataset as of the\n"
        "last commit: as text (default, one line per row) or as raw little-endian bytes.\n"
        "A numeric dataset h5tx does not manage (contiguous, compact, big-endian, written by\n"
        "another tool) is read with --slice straight from the flushed file in data/, read-only;\n"
        "in redo mode only when nothing is pending (otherwise: run h5tx flush first).\n"
        "--at TXID: as it was when TXID committed (a store with history, h5tx history).",
        {{"chunk", "COORDS", "chunk coordinates (chunk index per dimension)"},
         {"slice", "RANGES", "half-open ranges a:b per dimension; 'i' is i:i+1, ':' is all"},
         {"raw", "", "write the raw bytes to stdout"},
         {"text", "", "write text (the default)"},
         at_option(),
         lt},
        2,
        2},
       run_get},
      {{"flush",
        "HOME",
        "Apply every committed transaction to the HDF5 files in data/ and empty the journal.",
        {lt},
        1,
        1},
       run_flush},
      {{"recover",
        "HOME",
        "Open the store, which runs crash recovery (discard uncommitted transactions, revert\n"
        "undo journals, roll committed transactions forward), flush and close; print what was done.\n"
        "With --quarantine TXID: move that committed transaction (one recovery reports cannot be\n"
        "applied) to HOME/quarantine/ instead, without opening the store; nothing is deleted.",
        {{"quarantine", "TXID", "move this committed transaction aside (redo mode)"}, lt},
        1,
        1},
       run_recover},
      {{"stats",
        "HOME",
        "Store statistics: mode, pending transactions, sizes of data/ and journal/.",
        {json_option(), lt},
        1,
        1},
       run_stats},
  };
}

}  // namespace cli
}  // namespace h5tx
