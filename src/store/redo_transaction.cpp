// One redo-mode transaction: buffering, reads through its own writes and its
// snapshot, savepoints, spilling, and the commit protocol.
#include "store/redo_transaction.hpp"

#include <algorithm>

#include "h5tx/error.hpp"
#include "util/names.hpp"
#include "util/shape_text.hpp"
#include "hdf5/chunk_codec.hpp"
#include "hdf5/dataset_ops.hpp"
#include "journal/staged_parts.hpp"
#include "journal/tx_dir.hpp"
#include "journal/tx_reader.hpp"
#include "store/redo_store.hpp"

namespace h5tx {

using journal::Op;
using journal::OpKind;

namespace {

using names::check_dataset_path;
using names::check_object_path;

}  // namespace

RedoTransaction::RedoTransaction(RedoStore* store, const TxOptions& options)
    : store_(store), options_(options) {
  if (options.as_of) {
    // Reads as of an older txid: pinned against pack, not against the
    // flusher (history has what the flusher replaces).
    snapshot_ = store_->pin_as_of(*options.as_of, options.read_only);
    holds_as_of_ = true;
    reads_ = &store_->history_view();
    return;
  }
  snapshot_ = store_->snapshots().acquire();
  holds_snapshot_ = true;
  reads_ = &store_->view();
}

RedoTransaction::~RedoTransaction() {
  // Transaction's destructor aborts an active transaction; if that failed,
  // at least let go of the snapshot so the flusher is not held back.
  release_snapshot();
}

void RedoTransaction::release_snapshot() {
  if (holds_as_of_) {
    holds_as_of_ = false;
    store_->unpin_as_of(snapshot_);
  }
  if (!holds_snapshot_) return;
  holds_snapshot_ = false;
  store_->snapshots().release(snapshot_);
}

void RedoTransaction::check_active(const char* w) const {
  if (!active_) throw StateError(store_->home(), std::string(w) + ": the transaction has ended");
  store_->check_open();
}

void RedoTransaction::check_writable(const char* w) const {
  check_active(w);
  if (options_.read_only) throw StateError(store_->home(), std::string(w) + ": read-only transaction");
  if (store_->read_only()) throw StateError(store_->home(), std::string(w) + ": the store is open read-only");
}

std::string RedoTransaction::what(const std::string& file, const std::string& path) const {
  return path.empty() ? file : file + ":" + path;
}

// --- the transaction's view ------------------------------------------------

bool RedoTransaction::file_exists(const std::string& file) {
  if (own_files_.count(file)) return true;
  auto it = committed_files_.find(file);
  if (it == committed_files_.end())
    it = committed_files_.emplace(file, reads_->file_exists(file, snapshot_)).first;
  return it->second;
}

std::optional<DatasetSpec> RedoTransaction::find_spec(const std::string& file, const std::string& path) {
  auto own = own_specs_.find({file, path});
  if (own != own_specs_.end()) return own->second;
  if (!file_exists(file)) return std::nullopt;
  auto it = committed_specs_.find({file, path});
  if (it == committed_specs_.end())
    it = committed_specs_.emplace(DatasetKey{file, path}, reads_->dataset_spec(file, path, snapshot_)).first;
  return it->second;
}

DatasetSpec RedoTransaction::require_spec(const std::string& file, const std::string& path) {
  if (!file_exists(file)) throw NotFoundError(file, "no such data file");
  auto s = find_spec(file, path);
  if (!s) throw NotFoundError(what(file, path), "no such dataset");
  return *s;
}

void RedoTransaction::check_coords(const DatasetSpec& spec, const Shape& coords, const std::string& w) const {
  if (coords.size() != spec.shape.size())
    throw InvalidArgumentError(w, "chunk coordinates " + shape_text(coords) + " have rank " +
                                      std::to_string(coords.size()) + ", the dataset has rank " +
                                      std::to_string(spec.shape.size()));
  for (size_t i = 0; i < coords.size(); i++)
    if (coords[i] >= (spec.shape[i] + spec.chunk[i] - 1) / spec.chunk[i])
      throw InvalidArgumentError(
          w, "chunk " + shape_text(coords) + " lies outside the dataset's extent " + shape_text(spec.shape));
}

std::vector<std::string> RedoTransaction::list_files() {
  check_active("list_files");
  std::vector<std::string> out = reads_->list_files(snapshot_);
  out.insert(out.end(), own_files_.begin(), own_files_.end());
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

std::vector<std::string> RedoTransaction::list_datasets(const std::string& file) {
  check_active("list_datasets");
  if (!file_exists(file)) throw NotFoundError(file, "no such data file");
  std::vector<std::string> out;
  if (!own_files_.count(file)) out = reads_->list_datasets(file, snapshot_);
  for (const auto& kv : own_specs_)
    if (kv.first.first == file) out.push_back(kv.first.second);
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

DatasetSpec RedoTransaction::dataset_spec(const std::string& file, const std::string& dataset) {
  check_active("dataset_spec");
  return require_spec(file, dataset);
}

// --- operations ------------------------------------------------------------

void RedoTransaction::push(Entry e) {
  if (e.op.kind == OpKind::WriteChunk) {
    ChunkKey key{e.op.file, e.op.path, e.op.shape};
    auto it = chunk_index_.find(key);
    size_t floor = savepoints_.empty() ? 0 : savepoints_.back().ops;
    // An older copy made after the newest savepoint can never be read or
    // restored again: free it now.
    if (it != chunk_index_.end() && it->second >= floor) drop_entry(ops_[it->second]);
    chunk_index_[key] = ops_.size();
  } else {
    apply_catalog(e.op);
  }
  ops_.push_back(std::move(e));
}

void RedoTransaction::apply_catalog(const Op& op) {
  switch (op.kind) {
    case OpKind::CreateFile:
      own_files_.insert(op.file);
      break;
    case OpKind::CreateDataset:
      own_specs_[{op.file, op.path}] = op.spec;
      break;
    case OpKind::ExtendDataset: {
      DatasetSpec s = require_spec(op.file, op.path);
      grow_shape(&s.shape, op.shape);
      own_specs_[{op.file, op.path}] = s;
      break;
    }
    default:
      break;
  }
}

void RedoTransaction::create_file(const std::string& file) {
  check_writable("create_file");
  Layout::check_file_name(file);
  if (file_exists(file)) throw AlreadyExistsError(file, "data file exists");
  Entry e;
  e.op.kind = OpKind::CreateFile;
  e.op.file = file;
  push(std::move(e));
}

void RedoTransaction::create_dataset(const std::string& file, const std::string& path,
                                     const DatasetSpec& spec) {
  check_writable("create_dataset");
  std::string w = what(file, path);
  check_dataset_path(path, w);
  if (!file_exists(file)) throw NotFoundError(file, "no such data file");
  hdf5::validate_spec(spec, w);
  if (find_spec(file, path)) throw AlreadyExistsError(w, "dataset exists");
  for (const auto& d : list_datasets(file)) {
    if (path.compare(0, d.size() + 1, d + "/") == 0)
      throw InvalidArgumentError(w, "a parent of the path is the dataset " + d);
    if (d.compare(0, path.size() + 1, path + "/") == 0)
      throw AlreadyExistsError(w, "a group exists at this path");
  }
  Entry e;
  e.op.kind = OpKind::CreateDataset;
  e.op.file = file;
  e.op.path = path;
  e.op.spec = hdf5::normalize_spec(spec);
  push(std::move(e));
}

void RedoTransaction::extend_dataset(const std::string& file, const std::string& path,
                                     const Shape& new_shape) {
  check_writable("extend_dataset");
  std::string w = what(file, path);
  DatasetSpec s = require_spec(file, path);
  if (new_shape.size() != s.shape.size())
    throw InvalidArgumentError(w, "new extent " + shape_text(new_shape) + " has the wrong rank");
  for (size_t i = 0; i < s.shape.size(); i++)
    if (new_shape[i] > s.max_shape[i])
      throw InvalidArgumentError(
          w, "new extent " + shape_text(new_shape) + " exceeds the maximum shape " + shape_text(s.max_shape));
  std::string too_big = hdf5::extent_problem(s.dtype, new_shape);
  if (!too_big.empty()) throw InvalidArgumentError(w, too_big);
  Entry e;
  e.op.kind = OpKind::ExtendDataset;
  e.op.file = file;
  e.op.path = path;
  e.op.shape = new_shape;
  push(std::move(e));
}

void RedoTransaction::require_object(const std::string& file, const std::string& object) {
  if (!file_exists(file)) throw NotFoundError(file, "no such data file");
  if (object == "/" || find_spec(file, object)) return;
  // A group: h5tx makes groups only as the parents of datasets.
  std::string prefix = object + "/";
  for (const auto& d : list_datasets(file))
    if (d.compare(0, prefix.size(), prefix) == 0) return;
  throw NotFoundError(what(file, object), "no such group or dataset");
}

void RedoTransaction::set_attribute(const std::string& file, const std::string& object,
                                    const std::string& name, const AttributeValue& value) {
  check_writable("set_attribute");
  std::string w = what(file, object) + "@" + name;
  check_object_path(object, w);
  if (name.empty()) throw InvalidArgumentError(w, "empty attribute name");
  if (!file_exists(file)) throw NotFoundError(file, "no such data file");
  if (!value.is_string && (value.bytes.empty() || value.bytes.size() % dtype_size(value.dtype) != 0))
    throw InvalidArgumentError(w, "attribute value needs a positive number of whole elements");
  require_object(file, object);
  Entry e;
  e.op.kind = OpKind::SetAttribute;
  e.op.file = file;
  e.op.path = object;
  e.op.name = name;
  e.op.attr = value;
  push(std::move(e));
}

// The newest of this transaction's own sets and deletes of the attribute, if any.
const journal::Op* RedoTransaction::own_attribute_op(const std::string& file, const std::string& object,
                                                     const std::string& name) const {
  for (auto it = ops_.rbegin(); it != ops_.rend(); ++it) {
    const Op& op = it->op;
    if ((op.kind == OpKind::SetAttribute || op.kind == OpKind::DeleteAttribute) && op.file == file &&
        op.path == object && op.name == name)
      return &op;
  }
  return nullptr;
}

AttributeValue RedoTransaction::get_attribute(const std::string& file, const std::string& object,
                                              const std::string& name) {
  check_active("get_attribute");
  require_object(file, object);
  std::string w = what(file, object) + "@" + name;
  if (const Op* op = own_attribute_op(file, object, name)) {
    if (op->kind == OpKind::DeleteAttribute) throw NotFoundError(w, "no such attribute");
    return op->attr;
  }
  std::optional<AttributeValue> v;
  if (!own_files_.count(file)) v = reads_->attribute(file, object, name, snapshot_);
  if (!v) throw NotFoundError(w, "no such attribute");
  return *v;
}

std::vector<std::string> RedoTransaction::list_attributes(const std::string& file,
                                                          const std::string& object) {
  check_active("list_attributes");
  require_object(file, object);
  std::set<std::string> names;
  if (!own_files_.count(file))
    for (auto& n : reads_->attribute_names(file, object, snapshot_)) names.insert(n);
  for (const Entry& e : ops_) {
    const Op& op = e.op;
    if (op.file != file || op.path != object) continue;
    if (op.kind == OpKind::SetAttribute)
      names.insert(op.name);
    else if (op.kind == OpKind::DeleteAttribute)
      names.erase(op.name);
  }
  return {names.begin(), names.end()};
}

void RedoTransaction::delete_attribute(const std::string& file, const std::string& object,
                                       const std::string& name) {
  check_writable("delete_attribute");
  get_attribute(file, object, name);  // NotFoundError if there is none to delete
  Entry e;
  e.op.kind = OpKind::DeleteAttribute;
  e.op.file = file;
  e.op.path = object;
  e.op.name = name;
  push(std::move(e));
}

journal::TxWriter& RedoTransaction::writer(uint64_t temp_id) {
  if (!writer_)
    writer_ = std::make_unique<journal::TxWriter>(store_->env(), store_->layout().journal_dir(), temp_id,
                                                  store_->spare_dirs().take());
  return *writer_;
}

journal::TxWriter& RedoTransaction::spill_writer() {
  // Spilled before commit: the directory is named with an id of its own
  // (commit renames it straight to the final _done name).
  return writer_ ? *writer_ : writer(store_->layout().temp_id());
}

void RedoTransaction::write_chunk(const std::string& file, const std::string& dataset, const Shape& coords,
                                  const void* data, size_t size) {
  check_writable("write_chunk");
  std::string w = what(file, dataset);
  DatasetSpec spec = require_spec(file, dataset);
  check_coords(spec, coords, w);
  size_t expect = hdf5::chunk_bytes(spec);
  if (size != expect)
    throw InvalidArgumentError(w, "chunk has " + std::to_string(size) + " bytes, the dataset's chunks have " +
                                      std::to_string(expect));
  Entry e;
  e.op.kind = OpKind::WriteChunk;
  e.op.file = file;
  e.op.path = dataset;
  e.op.shape = coords;
  const Options& o = store_->options();
  bool unfiltered = spec.compression == Compression::None && !spec.fletcher32;
  if (unfiltered && size >= o.spill_chunk_bytes) {
    // Stored bytes are the caller's bytes: straight to the spill file.
    spill_writer().spill(data, size, &e.op);
    e.spilled = true;
    push(std::move(e));
    return;
  }
  std::vector<uint8_t> stored = hdf5::encode_chunk(spec, data, size, &e.op.filter_mask);
  e.op.chunk_size = stored.size();
  if (stored.size() >= o.spill_chunk_bytes || memory_bytes_ + stored.size() > o.spill_bytes) {
    spill_writer().spill(stored.data(), stored.size(), &e.op);
    e.spilled = true;
  } else {
    memory_bytes_ += stored.size();
    e.bytes = std::move(stored);
  }
  push(std::move(e));
}

std::string RedoTransaction::entry_bytes(const Entry& e) {
  if (e.spilled && e.op.chunk_file != journal::kSpillFileName)  // a staged part file
    return journal::read_chunk_file(*store_->env(), writer_->path(), e.op);
  if (e.spilled) return writer_->read_spilled(e.op);
  return std::string(e.bytes.begin(), e.bytes.end());
}

std::vector<uint8_t> RedoTransaction::read_chunk(const std::string& file, const std::string& dataset,
                                                 const Shape& coords) {
  check_active("read_chunk");
  std::string w = what(file, dataset);
  DatasetSpec spec = require_spec(file, dataset);
  check_coords(spec, coords, w);
  ChunkKey key{file, dataset, coords};
  std::string stored;
  uint32_t mask = 0;
  auto own = chunk_index_.find(key);
  if (own != chunk_index_.end()) {
    const Entry& e = ops_[own->second];
    stored = entry_bytes(e);
    mask = e.op.filter_mask;
  } else if (!reads_->read_chunk_stored(key, snapshot_, &stored, &mask)) {
    return hdf5::fill_chunk(spec);
  }
  return hdf5::decode_chunk(spec, stored.data(), stored.size(), mask, w + " chunk " + shape_text(coords));
}

// --- staged writing -----------------------------------------------------------

std::string RedoTransaction::stage() {
  check_writable("stage");
  journal::TxWriter& w = spill_writer();
  w.open_dir();
  return journal::stage_token(w.path());
}

void RedoTransaction::adopt(const std::vector<StagedChunk>& chunks) {
  check_writable("adopt");
  if (chunks.empty()) return;
  if (!writer_ || !writer_->created())
    throw StateError(store_->home(), "adopt: the transaction has no staging directory (call stage() first)");
  std::vector<Entry> entries = staged_entries(chunks, writer_->path());
  writer_->note_new_entries();
  for (auto& e : entries) push(std::move(e));
}

void RedoTransaction::adopt(const std::vector<StagedChunk>& chunks, const std::string& token) {
  check_writable("adopt");
  std::string dir = journal::parse_stage_token(token);
  if (writer_ && writer_->created() && (writer_->path() == dir || taken_stage_ == dir)) return adopt(chunks);
  if (path_dirname(dir) != store_->layout().journal_dir())
    throw InvalidArgumentError(dir, "adopt: the staging directory is not in the journal of this store (" +
                                        store_->layout().journal_dir() + ")");
  if (writer_ && writer_->created())
    throw StateError(writer_->path(),
                     "adopt: the transaction has a directory of its own already (it spilled chunks or called "
                     "stage()); adopt a staging directory before that");
  auto gone = [&] {
    return NotFoundError(dir,
                         "adopt: the staging directory is gone (another transaction took it over, or "
                         "recovery removed it because no writer process kept the store open)");
  };
  if (!store_->env()->is_directory(dir)) throw gone();
  std::vector<Entry> entries = staged_entries(chunks, dir);
  // Take it over: renamed to a _temp name of this transaction's own, as a
  // recycled directory is (both names are garbage to recovery).
  writer_.reset();
  auto w = std::make_unique<journal::TxWriter>(store_->env(), store_->layout().journal_dir(),
                                               store_->layout().temp_id(), dir);
  try {
    w->open_dir();
  } catch (const Error&) {
    if (store_->env()->is_directory(dir)) throw;
    throw gone();
  }
  // Every entry of the taken directory was created by other processes.
  w->note_new_entries();
  writer_ = std::move(w);
  taken_stage_ = dir;
  for (auto& e : entries) push(std::move(e));  // their part files are now in writer_->path()
}

std::vector<RedoTransaction::Entry> RedoTransaction::staged_entries(const std::vector<StagedChunk>& chunks,
                                                                    const std::string& dir) {
  std::vector<Entry> entries;
  entries.reserve(chunks.size());
  std::map<std::string, uint64_t> part_sizes;
  for (const StagedChunk& c : chunks) {
    std::string w = what(c.file, c.dataset) + " chunk " + shape_text(c.coords);
    DatasetSpec spec = require_spec(c.file, c.dataset);
    check_coords(spec, c.coords, w);
    if (!journal::valid_part_name(c.part))
      throw InvalidArgumentError(w, "staged chunk names part file '" + names::printable(c.part) +
                                        "', not a part-<32 hex digits> name");
    std::string problem = hdf5::stored_chunk_problem(spec, c.size, c.filter_mask);
    if (!problem.empty()) throw InvalidArgumentError(w, "staged chunk: " + problem);
    auto it = part_sizes.find(c.part);
    if (it == part_sizes.end()) {
      std::string path = path_join(dir, c.part);
      if (!store_->env()->exists(path))
        throw InvalidArgumentError(path, "staged part file is missing (written for another transaction?)");
      it = part_sizes.emplace(c.part, store_->env()->file_size(path)).first;
    }
    if (c.offset >= (uint64_t(1) << 63) || c.size > it->second || c.offset > it->second - c.size)
      throw InvalidArgumentError(path_join(dir, c.part),
                                 w + ": staged chunk at offset " + std::to_string(c.offset) + " of " +
                                     std::to_string(c.size) + " bytes runs past the part file's end (" +
                                     std::to_string(it->second) + " bytes)");
    Entry e;
    e.op.kind = OpKind::WriteChunk;
    e.op.file = c.file;
    e.op.path = c.dataset;
    e.op.shape = c.coords;
    e.op.filter_mask = c.filter_mask;
    e.op.chunk_file = c.part;
    e.op.chunk_offset = c.offset;
    e.op.chunk_size = c.size;
    e.op.chunk_hash = c.hash;
    e.spilled = true;
    entries.push_back(std::move(e));
  }
  return entries;
}

// --- savepoints, metadata, hooks ---------------------------------------------

Savepoint RedoTransaction::savepoint() {
  check_active("savepoint");
  savepoints_.push_back({next_savepoint_++, ops_.size(), hooks_.size(), message_, metadata_});
  return Savepoint{savepoints_.back().id};
}

void RedoTransaction::drop_entry(Entry& e) {
  if (e.dead) return;
  e.dead = true;
  // A spilled copy stays in the spill file as dead bytes until the
  // directory goes; nothing refers to it.
  memory_bytes_ -= e.bytes.size();
  e.bytes.clear();
  e.bytes.shrink_to_fit();
}

void RedoTransaction::rebuild_indexes() {
  chunk_index_.clear();
  own_specs_.clear();
  own_files_.clear();
  for (size_t i = 0; i < ops_.size(); i++) {
    if (ops_[i].dead) continue;
    if (ops_[i].op.kind == OpKind::WriteChunk)
      chunk_index_[{ops_[i].op.file, ops_[i].op.path, ops_[i].op.shape}] = i;
    else
      apply_catalog(ops_[i].op);
  }
}

void RedoTransaction::rollback_to(const Savepoint& sp) {
  check_active("rollback_to");
  auto it = std::find_if(savepoints_.begin(), savepoints_.end(),
                         [&](const SavepointState& s) { return s.id == sp.id; });
  if (it == savepoints_.end())
    throw StateError(store_->home(),
                     "savepoint " + std::to_string(sp.id) + " was released or rolled back past");
  while (hooks_.size() > it->hooks) {
    auto hook = std::move(hooks_.back());
    hooks_.pop_back();
    hook();
  }
  while (ops_.size() > it->ops) {
    drop_entry(ops_.back());
    ops_.pop_back();
  }
  message_ = it->message;
  metadata_ = it->metadata;
  savepoints_.erase(it + 1, savepoints_.end());
  rebuild_indexes();
}

void RedoTransaction::release(const Savepoint& sp) {
  check_active("release");
  auto it = std::find_if(savepoints_.begin(), savepoints_.end(),
                         [&](const SavepointState& s) { return s.id == sp.id; });
  if (it == savepoints_.end())
    throw StateError(store_->home(),
                     "savepoint " + std::to_string(sp.id) + " was released or rolled back past");
  savepoints_.erase(it, savepoints_.end());
}

void RedoTransaction::set_message(const std::string& message) {
  check_active("set_message");
  message_ = message;
}

void RedoTransaction::set_metadata(const std::string& key, const std::string& value) {
  check_active("set_metadata");
  if (key.empty()) throw InvalidArgumentError(store_->home(), "empty metadata key");
  metadata_[key] = value;
}

void RedoTransaction::on_abort(std::function<void()> hook) {
  check_active("on_abort");
  hooks_.push_back(std::move(hook));
}

hid_t RedoTransaction::hid(const std::string& file) {
  throw StateError(file, "hid() is only available in undo mode; this store is in redo mode");
}

// --- end of the transaction --------------------------------------------------

void RedoTransaction::finish_aborted(bool failed_commit) {
  active_ = false;
  release_snapshot();
  while (!hooks_.empty()) {
    auto hook = std::move(hooks_.back());
    hooks_.pop_back();
    hook();
  }
  ops_.clear();
  chunk_index_.clear();
  if (writer_) {
    auto w = std::move(writer_);
    if (!failed_commit) {
      w->discard();
    } else {
      // The commit's own error is the one to report; a _temp directory
      // left behind is removed by the next recovery.
      try {
        w->discard();
      } catch (const Error& e) {
        (void)e;
      }
    }
  }
}

void RedoTransaction::abort() {
  if (!active_) return;
  finish_aborted(false);
}

// Keys: "chunk <coords> of f:/d", "dataset f:/p", "group f:/p",
// "extent of f:/d", "attribute f:/o@n", "file f". Catalog creates are always
// checked (two creates of one name, or a dataset where another transaction
// made a group, would collide when the flusher replays them); the rest only
// when the transaction checks conflicts.
void conflict_keys_of(const std::vector<const Op*>& live, bool all, std::vector<std::string>* check,
                      std::vector<std::string>* record) {
  auto what = [](const std::string& file, const std::string& path) {
    return path.empty() ? file : file + ":" + path;
  };
  auto both = [&](const std::string& k) {
    check->push_back(k);
    record->push_back(k);
  };
  for (const Op* o : live) {
    const Op& op = *o;
    switch (op.kind) {
      case OpKind::CreateFile:
        both("file " + op.file);
        break;
      case OpKind::CreateDataset: {
        both("dataset " + what(op.file, op.path));
        check->push_back("group " + what(op.file, op.path));
        for (size_t pos = op.path.find('/', 1); pos != std::string::npos; pos = op.path.find('/', pos + 1)) {
          std::string parent = op.path.substr(0, pos);
          check->push_back("dataset " + what(op.file, parent));
          record->push_back("group " + what(op.file, parent));
        }
        break;
      }
      case OpKind::ExtendDataset:
        if (all) both("extent of " + what(op.file, op.path));
        break;
      case OpKind::SetAttribute:
      case OpKind::DeleteAttribute:
        if (all) both("attribute " + what(op.file, op.path) + "@" + op.name);
        break;
      case OpKind::WriteChunk:
        if (all) both("chunk " + shape_text(op.shape) + " of " + what(op.file, op.path));
        break;
    }
  }
}

void RedoTransaction::conflict_keys(const std::vector<const Entry*>& live, std::vector<std::string>* check,
                                    std::vector<std::string>* record) const {
  std::vector<const Op*> ops;
  for (const Entry* e : live) ops.push_back(&e->op);
  conflict_keys_of(ops, options_.check_conflicts, check, record);
}

void RedoTransaction::commit() {
  check_active("commit");
  std::vector<const Entry*> live;
  for (size_t i = 0; i < ops_.size(); i++) {
    const Entry& e = ops_[i];
    if (e.dead) continue;
    // Only the newest copy of a chunk goes into the journal.
    if (e.op.kind == OpKind::WriteChunk && chunk_index_.at({e.op.file, e.op.path, e.op.shape}) != i) continue;
    live.push_back(&e);
  }
  if (live.empty()) {  // nothing to make durable
    active_ = false;
    release_snapshot();
    hooks_.clear();
    // A staging directory (or a spill file whose chunks were all rolled
    // back) is not needed: remove it now rather than at the next open.
    if (writer_) {
      auto w = std::move(writer_);
      w->discard();
    }
    return;
  }
  if (options_.read_only || store_->read_only())
    throw StateError(store_->home(), "commit: read-only transaction or store");

  CommitQueue& queue = store_->commit_queue();
  bool in_queue = false;
  try {
    std::vector<std::string> check_keys, record_keys;
    conflict_keys(live, &check_keys, &record_keys);
    RedoStore* store = store_;
    uint64_t snapshot = snapshot_;
    auto check_conflicts = [&](uint64_t txid) {
      if (const std::string* k = store->conflicts().find_conflict(check_keys, snapshot))
        throw ConflictError(store->home(),
                            "transaction " +
                                (txid ? journal::txid_hex(txid) : std::string("being committed")) +
                                " wrote the " + *k + ", which a transaction committed after its snapshot " +
                                journal::txid_hex(snapshot) + " also wrote");
    };
    // Fail fast, before any file is written; the check that counts is the
    // one at rename time.
    queue.locked([&] { check_conflicts(0); });
    store_->flusher().wait_for_room();
    txid_ = queue.begin_commit();
    in_queue = true;
    const bool multi = store_->layout().multi_writer();
    // Several writer processes: the directory has a name of its own, and
    // txid_ is provisional until the rename step assigns the real one.
    journal::TxWriter& wr = writer(multi ? store_->layout().temp_id() : txid_);
    auto m = std::make_shared<journal::Manifest>();
    m->txid = txid_;
    m->commit_time_micros = store_->env()->now_micros();
    m->message = message_;
    m->metadata = metadata_;
    std::vector<const std::vector<uint8_t>*> inline_data;
    for (const Entry* e : live) {
      m->ops.push_back(e->op);
      if (e->op.kind == OpKind::WriteChunk && !e->spilled) {
        wr.add_inline(e->bytes, &m->ops.back());
        inline_data.push_back(&e->bytes);
      }
    }
    uint64_t fsyncs = wr.seal(*m, inline_data);
    uint64_t txid = txid_;
    in_queue = false;  // finish() leaves the queue on every path
    queue.finish(txid_, [&]() -> std::function<void()> {
      if (multi) {
        // Under procs/commit, caught up with the other processes' commits.
        check_conflicts(0);
        txid = store->layout().assign_txid(store->commit_section(), txid);
        if (txid != m->txid) fsyncs += wr.retxid(*m, txid);
        txid_ = txid;
      }
      check_conflicts(txid);
      if (multi) store->renamed(txid);
      std::string dir = wr.publish(txid);
      ConflictIndex& conflicts = store->conflicts();
      conflicts.record(record_keys, txid);
      conflicts.prune(store->snapshots().flush_limit());
      return [store, m, dir] { store->publish(m, dir); };
    });
    store_->commit_fsyncs += fsyncs;
  } catch (...) {
    if (in_queue) queue.abandon(txid_);
    txid_ = 0;
    finish_aborted(true);
    throw;
  }
  active_ = false;
  release_snapshot();
  hooks_.clear();
  writer_.reset();
}

}  // namespace h5tx
