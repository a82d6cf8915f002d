// The committed view of a redo store (store/committed_view.hpp).
#include "store/committed_view.hpp"

#include <set>

#include "h5tx/error.hpp"
#include "hdf5/dataset_ops.hpp"
#include "journal/tx_dir.hpp"
#include "journal/tx_reader.hpp"

namespace h5tx {

std::optional<procs::Gate::ReadHold> CommittedView::gate_hold() {
  if (!files_->live_reader()) return std::nullopt;
  return files_->gate()->read(files_->gate_read_timeout());
}

void CommittedView::held(const std::optional<procs::Gate::ReadHold>& hold) {
  if (hold) files_->check_generation(hold->generation);
}

// A reader process reads a chunk copy from a directory that a writer's
// flusher may rename (_flushed), reuse or remove once the transaction is in
// the data files. If the read failed and the directory is no longer there,
// the copy is read under its other name (a recovery may have renamed it
// back), else it is in the data files, which then hold it: the flusher
// renames only after applying, and applies nothing newer than our
// registered snapshot. A copy that fails to read from the _flushed name
// (being recycled or removed meanwhile) is read from the data files too.
CommittedView::Moved CommittedView::read_moved_chunk(const ChunkVersion& v, std::string* stored) {
  // A _flushed directory is applied already; one that fails to read is
  // being recycled or removed (its files go before the directory).
  const std::string flushed = journal::tx_dir_name(v.txid, journal::TxState::Flushed);
  const bool applied = v.dir->size() >= flushed.size() &&
                       v.dir->compare(v.dir->size() - flushed.size(), flushed.size(), flushed) == 0;
  if (!applied && env_->is_directory(*v.dir)) return Moved::No;
  const std::string parent = path_dirname(*v.dir);
  for (journal::TxState st : {journal::TxState::Done, journal::TxState::Flushed}) {
    std::string other = path_join(parent, journal::tx_dir_name(v.txid, st));
    if (other == *v.dir || !env_->is_directory(other)) continue;
    try {
      *stored = journal::read_chunk_file(*env_, other, v.chunk_file, v.offset, v.size, v.hash);
      return Moved::ReadThere;
    } catch (const Error&) {
      // Under its _done name the copy is stable: the failure is real. A
      // _flushed directory is already applied, and the flusher may be
      // recycling or removing its files right now: the data files hold it.
      if (st == journal::TxState::Done && env_->is_directory(other)) throw;
    }
  }
  return Moved::InDataFiles;
}

void CommittedView::flushed(const std::vector<journal::Manifest>& ms) {
  for (const auto& m : ms)
    for (const auto& op : m.ops)
      if (op.kind != journal::OpKind::WriteChunk) catalog_.invalidate(op.file);
  for (const auto& m : ms) overlay_.remove(m);
}

bool CommittedView::file_exists(const std::string& file, uint64_t snapshot) {
  {
    ReaderLock olock(overlay_.mutex());
    if (overlay_.file_created(file, snapshot)) return true;
  }
  bool exists = false;
  if (catalog_.find_file(file, &exists)) return exists;
  auto hold = gate_hold();
  MutexLock lock(files_->mutex());
  held(hold);
  exists = files_->exists(file);
  catalog_.put_file(file, exists);  // under the lock: see catalog_cache.hpp
  return exists;
}

std::vector<std::string> CommittedView::list_files(uint64_t snapshot) {
  std::set<std::string> names;
  {
    ReaderLock olock(overlay_.mutex());
    for (auto& f : overlay_.files(snapshot)) names.insert(f);
  }
  auto hold = gate_hold();
  MutexLock lock(files_->mutex());
  held(hold);
  for (auto& f : files_->list()) names.insert(f);
  return {names.begin(), names.end()};
}

std::vector<std::string> CommittedView::list_datasets(const std::string& file, uint64_t snapshot) {
  std::set<std::string> names;
  {
    ReaderLock olock(overlay_.mutex());
    for (auto& d : overlay_.datasets(file, snapshot)) names.insert(d);
  }
  auto hold = gate_hold();
  MutexLock lock(files_->mutex());
  held(hold);
  if (files_->exists(file))
    for (auto& d : hdf5::list_datasets(files_->handle(file))) names.insert(d);
  return {names.begin(), names.end()};
}

std::optional<DatasetSpec> CommittedView::dataset_spec(const std::string& file, const std::string& path,
                                                       uint64_t snapshot) {
  std::vector<Overlay::CatalogVersion> versions;
  {
    ReaderLock olock(overlay_.mutex());
    versions = overlay_.dataset_versions(file, path, snapshot);
  }
  // The file's spec (the flusher only ever grows it, and only with
  // transactions at or below every open snapshot), then the overlay on top.
  std::optional<DatasetSpec> base;
  if (!catalog_.find_spec(file, path, &base)) {
    auto hold = gate_hold();
    MutexLock lock(files_->mutex());
    held(hold);
    if (files_->exists(file)) {
      hid_t h = files_->handle(file);
      if (hdf5::dataset_exists(h, path)) base = hdf5::read_spec(h, path);
    }
    catalog_.put_spec(file, path, base);  // under the lock: see catalog_cache.hpp
  }
  return Overlay::apply(base, versions);
}

std::vector<std::string> CommittedView::attribute_names(const std::string& file, const std::string& object,
                                                        uint64_t snapshot) {
  std::vector<Overlay::AttributeVersion> versions;
  {
    ReaderLock olock(overlay_.mutex());
    versions = overlay_.attribute_versions(file, object, snapshot);
  }
  std::set<std::string> names;
  {
    auto hold = gate_hold();
    MutexLock lock(files_->mutex());
    held(hold);
    if (files_->exists(file)) {
      hid_t h = files_->handle(file);
      if (hdf5::object_exists(h, object))
        for (auto& n : hdf5::list_attributes(h, object)) names.insert(n);
    }
  }
  for (const auto& v : versions) {
    if (v.deleted)
      names.erase(v.name);
    else
      names.insert(v.name);
  }
  return {names.begin(), names.end()};
}

std::optional<AttributeValue> CommittedView::attribute(const std::string& file, const std::string& object,
                                                       const std::string& name, uint64_t snapshot) {
  {
    ReaderLock olock(overlay_.mutex());
    std::vector<Overlay::AttributeVersion> versions = overlay_.attribute_versions(file, object, snapshot);
    for (auto it = versions.rbegin(); it != versions.rend(); ++it) {
      if (it->name != name) continue;
      if (it->deleted) return std::nullopt;
      return it->value;
    }
  }
  auto hold = gate_hold();
  MutexLock lock(files_->mutex());
  held(hold);
  if (!files_->exists(file)) return std::nullopt;
  hid_t h = files_->handle(file);
  if (!hdf5::object_exists(h, object)) return std::nullopt;
  try {
    return hdf5::read_attribute(h, object, name);
  } catch (const NotFoundError&) {
    return std::nullopt;
  }
}

bool CommittedView::read_chunk_stored(const ChunkKey& key, uint64_t snapshot, std::string* stored,
                                      uint32_t* filter_mask) {
  std::optional<ChunkVersion> moved;
  {
    ReaderLock olock(overlay_.mutex());
    if (const ChunkVersion* v = overlay_.find_chunk(key, snapshot)) {
      try {
        *stored = journal::read_chunk_file(*env_, *v->dir, v->chunk_file, v->offset, v->size, v->hash);
        *filter_mask = v->filter_mask;
        return true;
      } catch (const Error&) {
        if (!files_->live_reader()) throw;
        moved = *v;
      }
    }
  }
  if (moved) {
    // Outside the overlay's lock: this does I/O.
    switch (read_moved_chunk(*moved, stored)) {
      case Moved::No:  // still where it was: the failure was real; report it
        *stored = journal::read_chunk_file(*env_, *moved->dir, moved->chunk_file, moved->offset, moved->size,
                                           moved->hash);
        *filter_mask = moved->filter_mask;
        return true;
      case Moved::ReadThere:
        *filter_mask = moved->filter_mask;
        return true;
      case Moved::InDataFiles:
        break;
    }
  }
  auto hold = gate_hold();
  MutexLock lock(files_->mutex());
  held(hold);
  // The dataset may be created in the overlay and not yet in the file.
  if (!files_->exists(key.file)) return false;
  hid_t h = files_->handle(key.file);
  if (!hdf5::dataset_exists(h, key.dataset)) return false;
  std::vector<uint8_t> bytes;
  try {
    if (!hdf5::read_chunk_stored(h, key.dataset, key.coords, &bytes, filter_mask)) return false;
  } catch (const InvalidArgumentError&) {
    // Beyond the file's extent: an extend still in the overlay (or, as of
    // an older txid, one the history knows) made it part of the dataset;
    // the file never held it.
    return false;
  }
  stored->assign(bytes.begin(), bytes.end());
  return true;
}

}  // namespace h5tx
