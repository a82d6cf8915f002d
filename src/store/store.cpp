// Store and Transaction: the public classes forward to the mode's
// StoreImpl / TransactionImpl; Store::create/open set up the layout and
// dispatch on the mode recorded in h5tx.store. Typed hyperslab read/write
// is implemented here once, for both modes, on top of whole chunks.
#include "h5tx/store.hpp"

#include <cstdio>

#include <algorithm>

#include "hdf5/dataset_ops.hpp"
#include "hdf5/handle.hpp"
#include "store/hyperslab.hpp"
#include "flush/history_pack.hpp"
#include "journal/history_segment.hpp"
#include "journal/tx_dir.hpp"
#include "store/impl.hpp"
#include "store/layout.hpp"
#include "util/names.hpp"
#include "util/shape_text.hpp"

namespace h5tx {

const char* version() {
  return H5TX_VERSION_STRING;
}

// --- Store -------------------------------------------------------------

static std::unique_ptr<Store> make_store(std::unique_ptr<Layout> layout, const Options& options) {
  hdf5::silence_error_printing();
  std::unique_ptr<StoreImpl> impl;
  if (layout->mode() == Mode::Redo) {
    impl = open_redo_store(std::move(layout), options);
  } else {
    impl = open_undo_store(std::move(layout), options);
  }
  return std::unique_ptr<Store>(new Store(std::move(impl)));
}

std::unique_ptr<Store> Store::create(const std::string& home, const Options& options) {
  Env* env = options.env ? options.env : Env::posix();
  return make_store(Layout::create(env, home, options), options);
}

std::unique_ptr<Store> Store::open(const std::string& home, const Options& options) {
  Env* env = options.env ? options.env : Env::posix();
  std::unique_ptr<Layout> layout = Layout::open(env, home, options);
  if (options.mode && *options.mode != layout->mode()) {
    auto name = [](Mode m) { return m == Mode::Redo ? "redo" : "undo"; };
    throw InvalidArgumentError(layout->home(), std::string("the store is in ") + name(layout->mode()) +
                                                   " mode, not " + name(*options.mode) +
                                                   " mode as Options::mode asks");
  }
  return make_store(std::move(layout), options);
}

void Store::quarantine(const std::string& home, uint64_t txid, const Options& options) {
  Env* env = options.env ? options.env : Env::posix();
  Options o = options;
  o.read_only = false;
  std::unique_ptr<Layout> layout = Layout::open(env, home, o);
  if (layout->mode() != Mode::Redo)
    throw InvalidArgumentError(home,
                               "quarantine applies to redo-mode stores (undo mode has no committed journal)");
  if (txid == 0 || txid > journal::kMaxTxid)
    throw InvalidArgumentError(home, "txid " + std::to_string(txid) + " is out of range");
  const std::string& jdir = layout->journal_dir();
  std::string from;
  for (journal::TxState st : {journal::TxState::Done, journal::TxState::Flushed}) {
    std::string p = path_join(jdir, journal::tx_dir_name(txid, st));
    if (env->is_directory(p)) from = p;
  }
  if (from.empty())
    throw NotFoundError(path_join(jdir, journal::tx_dir_name(txid, journal::TxState::Done)),
                        "no committed transaction " + journal::txid_hex(txid) + " in the journal");
  std::string qdir = path_join(layout->home(), "quarantine");
  if (!env->is_directory(qdir)) {
    env->create_dir(qdir);
    env->sync_dir(layout->home());
  }
  std::string to = path_join(qdir, path_basename(from));
  if (env->exists(to)) throw AlreadyExistsError(to, "already quarantined under this name");
  env->rename(from, to);
  env->sync_dir(qdir);  // the new name first: a crash keeps it under one name or both, never none
  env->sync_dir(jdir);
}

PackStats Store::pack(const std::string& home_arg, const PackOptions& what, const Options& options) {
  Env* env = options.env ? options.env : Env::posix();
  if (what.before.has_value() == what.older_than.has_value())
    throw InvalidArgumentError(home_arg, "pack needs exactly one of before and older_than");
  const std::string home = env->resolve_symlinks(home_arg);
  const std::string fmt = path_join(home, Layout::kFormatFile);
  if (!env->is_directory(home) || !env->exists(fmt)) throw NotFoundError(fmt, "not an h5tx store");
  StoreFormat f = StoreFormat::decode(env->read_all(fmt, 64 << 10), fmt);
  if (!f.history)
    throw InvalidArgumentError(home, "the store keeps no history (h5tx history on HOME, Options::history)");
  uint64_t before = 0;
  if (what.before) {
    before = *what.before;
  } else {
    const uint64_t age = uint64_t(std::max<int64_t>(0, what.older_than->count()));
    const uint64_t now = env->now_micros();
    before = newest_txid_before(*env, path_join(home, journal::kHistoryDirName), now > age ? now - age : 0);
  }
  return pack_history(*env, home, before);
}

Store::Store(std::unique_ptr<StoreImpl> impl) : impl_(std::move(impl)) {}

Store::~Store() {
  if (!impl_) return;
  try {
    impl_->close();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "h5tx: closing store %s: %s\n", impl_->home().c_str(), e.what());
  }
}

Mode Store::mode() const {
  return impl_->mode();
}
const std::string& Store::home() const {
  return impl_->home();
}
Transaction Store::begin(const TxOptions& options) {
  if (options.as_of && impl_->mode() != Mode::Redo)
    throw InvalidArgumentError(impl_->home(),
                               "as_of reads need a redo-mode store with history (undo mode keeps none)");
  return Transaction(impl_->begin(options), impl_);
}
void Store::flush() {
  impl_->flush();
}
void Store::close() {
  impl_->close();
}
StoreStats Store::stats() {
  return impl_->stats();
}
std::vector<TransactionInfo> Store::pending() {
  return impl_->pending();
}
std::string Store::stage() {
  return impl_->stage();
}
std::string Store::data_path(const std::string& file) const {
  names::check_file_name(file);
  return path_join(path_join(impl_->home(), "data"), file);
}

// --- Transaction -------------------------------------------------------

Transaction::Transaction() = default;
Transaction::Transaction(std::unique_ptr<TransactionImpl> impl, std::shared_ptr<StoreImpl> store)
    : store_(std::move(store)), impl_(std::move(impl)) {}
Transaction::Transaction(Transaction&&) noexcept = default;
Transaction& Transaction::operator=(Transaction&& o) noexcept {
  if (this != &o) {
    if (impl_ && impl_->active()) {
      try {
        impl_->abort();
      } catch (const std::exception& e) {
        std::fprintf(stderr, "h5tx: aborting transaction: %s\n", e.what());
      }
    }
    impl_ = std::move(o.impl_);  // the old one goes while its store is still held
    store_ = std::move(o.store_);
  }
  return *this;
}
Transaction::~Transaction() {
  if (impl_ && impl_->active()) {
    try {
      impl_->abort();
    } catch (const std::exception& e) {
      std::fprintf(stderr, "h5tx: aborting transaction: %s\n", e.what());
    }
  }
}

TransactionImpl& Transaction::impl() const {
  if (!impl_) throw StateError("", "empty Transaction object (moved from or default-constructed)");
  return *impl_;
}

// The contract both modes share is checked here, once, before the mode sees
// the call (tests/store_contract_test.cpp runs the same script against both):
// every name (util/names.hpp), the transaction being active, and the
// catalog rules of create_dataset and extend_dataset, with one wording.
static void check_dataset(const std::string& f, const std::string& d) {
  names::check_file_name(f);
  names::check_dataset_path(d, f + ":" + d);
}

static void check_active(TransactionImpl& t, const char* op) {
  if (!t.active()) throw StateError("", std::string(op) + ": the transaction has ended");
}

uint64_t Transaction::txid() const {
  return impl().txid();
}
uint64_t Transaction::snapshot() const {
  return impl().snapshot();
}
bool Transaction::active() const {
  return impl_ && impl_->active();
}
void Transaction::create_file(const std::string& f) {
  names::check_file_name(f);
  impl().create_file(f);
}
void Transaction::create_dataset(const std::string& f, const std::string& p, const DatasetSpec& s) {
  TransactionImpl& t = impl();
  check_active(t, "create_dataset");
  check_dataset(f, p);
  const std::string w = f + ":" + p;
  hdf5::validate_spec(s, w);
  auto files = t.list_files();
  if (std::find(files.begin(), files.end(), f) == files.end()) throw NotFoundError(f, "no such data file");
  for (const std::string& d : t.list_datasets(f)) {
    if (d == p) throw AlreadyExistsError(w, "dataset exists");
    if (p.compare(0, d.size() + 1, d + "/") == 0)
      throw InvalidArgumentError(w, "a parent of the path is the dataset " + d);
    if (d.compare(0, p.size() + 1, p + "/") == 0) throw AlreadyExistsError(w, "a group exists at this path");
  }
  t.create_dataset(f, p, s);
}
void Transaction::extend_dataset(const std::string& f, const std::string& p, const Shape& s) {
  TransactionImpl& t = impl();
  check_active(t, "extend_dataset");
  check_dataset(f, p);
  const std::string w = f + ":" + p;
  DatasetSpec have = t.dataset_spec(f, p);
  if (s.size() != have.shape.size())
    throw InvalidArgumentError(w, "new extent " + shape_text(s) + " has rank " + std::to_string(s.size()) +
                                      ", the dataset " + std::to_string(have.shape.size()));
  for (size_t i = 0; i < s.size(); i++) {
    if (s[i] < have.shape[i])
      throw InvalidArgumentError(w, "new extent " + shape_text(s) + " is smaller than the current " +
                                        shape_text(have.shape) + "; datasets only grow");
    if (s[i] > have.max_shape[i])
      throw InvalidArgumentError(
          w, "new extent " + shape_text(s) + " exceeds the maximum shape " + shape_text(have.max_shape));
  }
  std::string too_big = hdf5::extent_problem(have.dtype, s);
  if (!too_big.empty()) throw InvalidArgumentError(w, too_big);
  t.extend_dataset(f, p, s);
}
void Transaction::set_attribute(const std::string& f, const std::string& o, const std::string& n,
                                const AttributeValue& v) {
  names::check_file_name(f);
  names::check_object_path(o, f + ":" + o);
  names::check_attribute_name(n, f + ":" + o);
  impl().set_attribute(f, o, n, v);
}
AttributeValue Transaction::get_attribute(const std::string& f, const std::string& o, const std::string& n) {
  TransactionImpl& t = impl();
  check_active(t, "get_attribute");
  names::check_file_name(f);
  names::check_object_path(o, f + ":" + o);
  names::check_attribute_name(n, f + ":" + o);
  return t.get_attribute(f, o, n);
}
std::vector<std::string> Transaction::list_attributes(const std::string& f, const std::string& o) {
  TransactionImpl& t = impl();
  check_active(t, "list_attributes");
  names::check_file_name(f);
  names::check_object_path(o, f + ":" + o);
  std::vector<std::string> out = t.list_attributes(f, o);
  std::sort(out.begin(), out.end());
  return out;
}
void Transaction::delete_attribute(const std::string& f, const std::string& o, const std::string& n) {
  TransactionImpl& t = impl();
  check_active(t, "delete_attribute");
  names::check_file_name(f);
  names::check_object_path(o, f + ":" + o);
  names::check_attribute_name(n, f + ":" + o);
  t.delete_attribute(f, o, n);
}
void Transaction::write_chunk(const std::string& f, const std::string& d, const Shape& c, const void* data,
                              size_t size) {
  check_dataset(f, d);
  impl().write_chunk(f, d, c, data, size);
}
std::vector<uint8_t> Transaction::read_chunk(const std::string& f, const std::string& d, const Shape& c) {
  check_dataset(f, d);
  return impl().read_chunk(f, d, c);
}
std::vector<std::string> Transaction::list_files() {
  return impl().list_files();
}
std::vector<std::string> Transaction::list_datasets(const std::string& f) {
  names::check_file_name(f);
  return impl().list_datasets(f);
}
DatasetSpec Transaction::dataset_spec(const std::string& f, const std::string& d) {
  check_dataset(f, d);
  return impl().dataset_spec(f, d);
}
Savepoint Transaction::savepoint() {
  return impl().savepoint();
}
void Transaction::rollback_to(const Savepoint& sp) {
  impl().rollback_to(sp);
}
void Transaction::release(const Savepoint& sp) {
  impl().release(sp);
}
void Transaction::set_message(const std::string& m) {
  check_active(impl(), "set_message");
  impl().set_message(m);
}
void Transaction::set_metadata(const std::string& k, const std::string& v) {
  check_active(impl(), "set_metadata");
  if (k.empty()) throw InvalidArgumentError("", "set_metadata: empty key");
  impl().set_metadata(k, v);
}
void Transaction::on_abort(std::function<void()> hook) {
  impl().on_abort(std::move(hook));
}
hid_t Transaction::hid(const std::string& f) {
  names::check_file_name(f);
  return impl().hid(f);
}
std::string Transaction::stage() {
  check_active(impl(), "stage");
  return impl().stage();
}
void Transaction::adopt(const std::vector<StagedChunk>& chunks) {
  check_active(impl(), "adopt");
  for (const auto& c : chunks) check_dataset(c.file, c.dataset);
  impl().adopt(chunks);
}
void Transaction::adopt(const std::vector<StagedChunk>& chunks, const std::string& token) {
  check_active(impl(), "adopt");
  for (const auto& c : chunks) check_dataset(c.file, c.dataset);
  impl().adopt(chunks, token);
}
void Transaction::commit() {
  impl().commit();
}
void Transaction::abort() {
  impl().abort();
}

static size_t chunk_elements(const DatasetSpec& s) {
  size_t n = 1;
  for (auto c : s.chunk) n *= c;
  return n;
}

// The dataset's spec, once the selection and element type are checked against it.
static DatasetSpec checked_spec(TransactionImpl& t, const std::string& file, const std::string& dataset,
                                const Shape& start, const Shape& count, DType type) {
  DatasetSpec spec = t.dataset_spec(file, dataset);
  std::string what = file + ":" + dataset;
  if (type != spec.dtype)
    throw InvalidArgumentError(what, std::string("element type ") + dtype_name(type) +
                                         " does not match the dataset's " + dtype_name(spec.dtype));
  check_box(spec, start, count, what);
  return spec;
}

void Transaction::write(const std::string& file, const std::string& dataset, const Shape& start,
                        const Shape& count, DType type, const void* data) {
  TransactionImpl& t = impl();
  DatasetSpec spec = checked_spec(t, file, dataset, start, count, type);
  size_t elem = dtype_size(spec.dtype);
  const auto* src = static_cast<const uint8_t*>(data);
  for_each_chunk_overlap(
      spec, start, count,
      [&](const Shape& coords, const Shape& in_chunk, const Shape& in_box, const Shape& extent) {
        bool whole = true;
        for (size_t d = 0; d < extent.size(); ++d) whole = whole && extent[d] == spec.chunk[d];
        std::vector<uint8_t> chunk;
        if (whole)
          chunk.resize(chunk_elements(spec) * elem);
        else
          chunk = t.read_chunk(file, dataset, coords);
        copy_box(src, count, in_box, chunk.data(), spec.chunk, in_chunk, extent, elem);
        t.write_chunk(file, dataset, coords, chunk.data(), chunk.size());
      });
}

void Transaction::read(const std::string& file, const std::string& dataset, const Shape& start,
                       const Shape& count, DType type, void* out) {
  TransactionImpl& t = impl();
  DatasetSpec spec = checked_spec(t, file, dataset, start, count, type);
  size_t elem = dtype_size(spec.dtype);
  auto* dst = static_cast<uint8_t*>(out);
  for_each_chunk_overlap(
      spec, start, count,
      [&](const Shape& coords, const Shape& in_chunk, const Shape& in_box, const Shape& extent) {
        std::vector<uint8_t> chunk = t.read_chunk(file, dataset, coords);
        copy_box(chunk.data(), spec.chunk, in_chunk, dst, count, in_box, extent, elem);
      });
}

}  // namespace h5tx
