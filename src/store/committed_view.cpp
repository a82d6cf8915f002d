// The committed view of a redo store (store/committed_view.hpp).
#include "store/committed_view.hpp"

#include <set>

#include "h5tx/error.hpp"
#include "hdf5/dataset_ops.hpp"
#include "journal/tx_reader.hpp"

namespace h5tx {

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
  MutexLock lock(files_->mutex());
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
  MutexLock lock(files_->mutex());
  for (auto& f : files_->list()) names.insert(f);
  return {names.begin(), names.end()};
}

std::vector<std::string> CommittedView::list_datasets(const std::string& file, uint64_t snapshot) {
  std::set<std::string> names;
  {
    ReaderLock olock(overlay_.mutex());
    for (auto& d : overlay_.datasets(file, snapshot)) names.insert(d);
  }
  MutexLock lock(files_->mutex());
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
    MutexLock lock(files_->mutex());
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
    MutexLock lock(files_->mutex());
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
  MutexLock lock(files_->mutex());
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
  {
    ReaderLock olock(overlay_.mutex());
    if (const ChunkVersion* v = overlay_.find_chunk(key, snapshot)) {
      *stored = journal::read_chunk_file(*env_, *v->dir, v->chunk_file, v->offset, v->size, v->hash);
      *filter_mask = v->filter_mask;
      return true;
    }
  }
  MutexLock lock(files_->mutex());
  // The dataset may be created in the overlay and not yet in the file.
  if (!files_->exists(key.file)) return false;
  hid_t h = files_->handle(key.file);
  if (!hdf5::dataset_exists(h, key.dataset)) return false;
  std::vector<uint8_t> bytes;
  if (!hdf5::read_chunk_stored(h, key.dataset, key.coords, &bytes, filter_mask)) return false;
  stored->assign(bytes.begin(), bytes.end());
  return true;
}

}  // namespace h5tx
