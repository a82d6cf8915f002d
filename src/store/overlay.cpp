// The read overlay of redo mode.
#include "store/overlay.hpp"

#include <algorithm>

namespace h5tx {

using journal::OpKind;

void grow_shape(Shape* shape, const Shape& to) {
  for (size_t i = 0; i < shape->size() && i < to.size(); i++) (*shape)[i] = std::max((*shape)[i], to[i]);
}

void Overlay::add(const journal::Manifest& m, const std::string& dir) {
  auto dir_ptr = std::make_shared<const std::string>(dir);
  WriterLock lock(mu_);
  for (const auto& op : m.ops) {
    switch (op.kind) {
      case OpKind::CreateFile:
        files_[op.file].push_back(m.txid);
        break;
      case OpKind::CreateDataset:
        datasets_[{op.file, op.path}].push_back({m.txid, true, op.spec, {}});
        break;
      case OpKind::ExtendDataset:
        datasets_[{op.file, op.path}].push_back({m.txid, false, {}, op.shape});
        break;
      case OpKind::SetAttribute:
      case OpKind::DeleteAttribute:
        attributes_[{op.file, op.path}].push_back(
            {m.txid, op.name, op.kind == OpKind::DeleteAttribute, op.attr});
        break;
      case OpKind::WriteChunk:
        chunks_[{op.file, op.path, op.shape}].push_back(
            {m.txid, dir_ptr, op.chunk_file, op.chunk_offset, op.chunk_size, op.chunk_hash, op.filter_mask});
        break;
    }
  }
}

template <class Map, class Key, class Pred>
static void erase_versions(Map& map, const Key& key, Pred pred) {
  auto it = map.find(key);
  if (it == map.end()) return;
  auto& v = it->second;
  v.erase(std::remove_if(v.begin(), v.end(), pred), v.end());
  if (v.empty()) map.erase(it);
}

void Overlay::remove(const journal::Manifest& m) {
  WriterLock lock(mu_);
  uint64_t t = m.txid;
  for (const auto& op : m.ops) {
    switch (op.kind) {
      case OpKind::CreateFile:
        erase_versions(files_, op.file, [t](uint64_t x) { return x == t; });
        break;
      case OpKind::CreateDataset:
      case OpKind::ExtendDataset:
        erase_versions(datasets_, DatasetKey{op.file, op.path},
                       [t](const CatalogVersion& v) { return v.txid == t; });
        break;
      case OpKind::SetAttribute:
      case OpKind::DeleteAttribute:
        erase_versions(attributes_, DatasetKey{op.file, op.path},
                       [t](const AttributeVersion& v) { return v.txid == t; });
        break;
      case OpKind::WriteChunk:
        erase_versions(chunks_, ChunkKey{op.file, op.path, op.shape},
                       [t](const ChunkVersion& v) { return v.txid == t; });
        break;
    }
  }
}

const ChunkVersion* Overlay::find_chunk(const ChunkKey& key, uint64_t snapshot) const {
  auto it = chunks_.find(key);
  if (it == chunks_.end()) return nullptr;
  const ChunkVersion* best = nullptr;
  for (const auto& v : it->second)
    if (v.txid <= snapshot) best = &v;  // txid order: the last match is the newest
  return best;
}

bool Overlay::file_created(const std::string& file, uint64_t snapshot) const {
  auto it = files_.find(file);
  if (it == files_.end()) return false;
  return !it->second.empty() && it->second.front() <= snapshot;
}

std::vector<std::string> Overlay::files(uint64_t snapshot) const {
  std::vector<std::string> out;
  for (const auto& kv : files_)
    if (!kv.second.empty() && kv.second.front() <= snapshot) out.push_back(kv.first);
  return out;
}

bool Overlay::dataset_created(const std::string& file, const std::string& path, uint64_t snapshot) const {
  auto it = datasets_.find({file, path});
  if (it == datasets_.end()) return false;
  for (const auto& v : it->second)
    if (v.create && v.txid <= snapshot) return true;
  return false;
}

std::vector<std::string> Overlay::datasets(const std::string& file, uint64_t snapshot) const {
  std::vector<std::string> out;
  for (auto it = datasets_.lower_bound({file, ""}); it != datasets_.end() && it->first.first == file; ++it)
    if (dataset_created(file, it->first.second, snapshot)) out.push_back(it->first.second);
  return out;
}

std::vector<Overlay::CatalogVersion> Overlay::dataset_versions(const std::string& file,
                                                               const std::string& path,
                                                               uint64_t snapshot) const {
  std::vector<CatalogVersion> out;
  auto it = datasets_.find({file, path});
  if (it == datasets_.end()) return out;
  for (const auto& v : it->second) {
    if (v.txid > snapshot) break;
    out.push_back(v);
  }
  return out;
}

std::optional<DatasetSpec> Overlay::apply(std::optional<DatasetSpec> spec,
                                          const std::vector<CatalogVersion>& versions) {
  for (const auto& v : versions) {
    if (v.create) {
      // A create of a dataset that exists with the same definition is a
      // no-op on replay: keep the grown extent.
      if (spec)
        grow_shape(&spec->shape, v.spec.shape);
      else
        spec = v.spec;
    } else if (spec) {
      grow_shape(&spec->shape, v.shape);
    }
  }
  return spec;
}

std::vector<Overlay::AttributeVersion> Overlay::attribute_versions(const std::string& file,
                                                                   const std::string& object,
                                                                   uint64_t snapshot) const {
  std::vector<AttributeVersion> out;
  auto it = attributes_.find({file, object});
  if (it == attributes_.end()) return out;
  for (const auto& v : it->second) {
    if (v.txid > snapshot) break;
    out.push_back(v);
  }
  return out;
}

size_t Overlay::chunk_keys() const {
  ReaderLock lock(mu_);
  return chunks_.size();
}

}  // namespace h5tx
