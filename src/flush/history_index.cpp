// The index of recorded versions (flush/history_index.hpp).
#include "flush/history_index.hpp"

#include <algorithm>

#include "h5tx/error.hpp"

namespace h5tx {

using journal::OpKind;

void HistoryIndex::refresh() {
  std::set<std::string> now;
  for (const std::string& name : env_->list_dir(dir_)) {
    uint64_t first = 0, last = 0;
    if (journal::parse_segment_name(name, &first, &last)) now.insert(name);
  }
  MutexLock lock(mu_);
  // A segment removed by pack: everything is loaded again from the
  // segments there now. (Its versions cannot just go: a pack that rewrote
  // a segment leaves versions that both files held, indexed from the one
  // loaded first.)
  if (std::any_of(loaded_.begin(), loaded_.end(), [&](const std::string& n) { return !now.count(n); })) {
    loaded_.clear();
    versions_.clear();
  }
  for (const std::string& name : now) {
    if (loaded_.count(name)) continue;
    const std::string path = path_join(dir_, name);
    journal::HistorySegment seg;
    try {
      seg = journal::read_segment(*env_, path);
    } catch (const Error&) {
      if (!env_->exists(path)) continue;  // removed by a pack meanwhile
      throw;
    }
    for (auto& r : seg.records) {
      Key k;
      switch (r.op.kind) {
        case OpKind::CreateFile:
          k = Key{0, r.op.file, "", "", {}};
          break;
        case OpKind::CreateDataset:
          k = Key{1, r.op.file, r.op.path, "", {}};
          break;
        case OpKind::SetAttribute:
        case OpKind::DeleteAttribute:
          k = Key{2, r.op.file, r.op.path, r.op.name, {}};
          break;
        case OpKind::WriteChunk:
          k = Key{3, r.op.file, r.op.path, "", r.op.shape};
          break;
        default:
          throw CorruptionError(path, "history record of an unexpected operation kind");
      }
      // A replayed batch may record a txid again (pack dropped the first
      // copy's segment): the first loaded stays.
      versions_[k].emplace(r.to_txid, Version{r.present, std::move(r.op), path});
    }
    loaded_.insert(name);
    newest_ = std::max(newest_, seg.last_txid);
  }
}

uint64_t HistoryIndex::newest() {
  MutexLock lock(mu_);
  return newest_;
}

uint64_t HistoryIndex::oldest() {
  const std::string path = path_join(dir_, journal::kHistoryOldestName);
  return journal::decode_oldest(env_->read_all(path, 4096), path);
}

std::optional<HistoryIndex::Version> HistoryIndex::at(const Key& k, uint64_t t) {
  MutexLock lock(mu_);
  auto it = versions_.find(k);
  if (it == versions_.end()) return std::nullopt;
  auto v = it->second.upper_bound(t);
  if (v == it->second.end()) return std::nullopt;
  return v->second;
}

std::optional<HistoryIndex::Version> HistoryIndex::file_at(const std::string& file, uint64_t t) {
  return at(Key{0, file, "", "", {}}, t);
}
std::optional<HistoryIndex::Version> HistoryIndex::dataset_at(const std::string& file,
                                                              const std::string& path, uint64_t t) {
  return at(Key{1, file, path, "", {}}, t);
}
std::optional<HistoryIndex::Version> HistoryIndex::attribute_at(const std::string& file,
                                                                const std::string& object,
                                                                const std::string& name, uint64_t t) {
  return at(Key{2, file, object, name, {}}, t);
}
std::optional<HistoryIndex::Version> HistoryIndex::chunk_at(const std::string& file,
                                                            const std::string& dataset, const Shape& coords,
                                                            uint64_t t) {
  return at(Key{3, file, dataset, "", coords}, t);
}

std::vector<std::string> HistoryIndex::files() {
  MutexLock lock(mu_);
  std::vector<std::string> out;
  for (auto it = versions_.lower_bound(Key{0, "", "", "", {}});
       it != versions_.end() && std::get<0>(it->first) == 0; ++it)
    if (!it->second.empty()) out.push_back(std::get<1>(it->first));
  return out;
}

std::vector<std::string> HistoryIndex::datasets(const std::string& file) {
  MutexLock lock(mu_);
  std::vector<std::string> out;
  for (auto it = versions_.lower_bound(Key{1, file, "", "", {}});
       it != versions_.end() && std::get<0>(it->first) == 1 && std::get<1>(it->first) == file; ++it)
    if (!it->second.empty()) out.push_back(std::get<2>(it->first));
  return out;
}

std::vector<std::string> HistoryIndex::attributes(const std::string& file, const std::string& object) {
  MutexLock lock(mu_);
  std::vector<std::string> out;
  for (auto it = versions_.lower_bound(Key{2, file, object, "", {}});
       it != versions_.end() && std::get<0>(it->first) == 2 && std::get<1>(it->first) == file &&
       std::get<2>(it->first) == object;
       ++it)
    if (!it->second.empty()) out.push_back(std::get<3>(it->first));
  return out;
}

std::string HistoryIndex::read_chunk(const Version& v) {
  return journal::read_segment_chunk(*env_, v.segment, v.op);
}

}  // namespace h5tx
