// Reads as of an older txid (store/history_view.hpp).
#include "store/history_view.hpp"

#include <set>

namespace h5tx {

namespace {

// The names seen now, corrected by each name's recorded version at t
// (present or absent) where there is one.
template <class At>
std::vector<std::string> names_at(const std::vector<std::string>& now,
                                  const std::vector<std::string>& recorded, At at) {
  std::set<std::string> out(now.begin(), now.end());
  for (const std::string& n : recorded) {
    auto v = at(n);
    if (!v) continue;
    if (v->present)
      out.insert(n);
    else
      out.erase(n);
  }
  return {out.begin(), out.end()};
}

}  // namespace

bool HistoryView::file_exists(const std::string& file, uint64_t t) {
  bool now = view_->file_exists(file, t);
  index_->refresh();
  if (auto v = index_->file_at(file, t)) return v->present;
  return now;
}

std::vector<std::string> HistoryView::list_files(uint64_t t) {
  std::vector<std::string> now = view_->list_files(t);
  index_->refresh();
  return names_at(now, index_->files(), [&](const std::string& f) { return index_->file_at(f, t); });
}

std::vector<std::string> HistoryView::list_datasets(const std::string& file, uint64_t t) {
  std::vector<std::string> now = view_->list_datasets(file, t);
  index_->refresh();
  return names_at(now, index_->datasets(file),
                  [&](const std::string& d) { return index_->dataset_at(file, d, t); });
}

std::optional<DatasetSpec> HistoryView::dataset_spec(const std::string& file, const std::string& path,
                                                     uint64_t t) {
  std::optional<DatasetSpec> now = view_->dataset_spec(file, path, t);
  index_->refresh();
  if (auto v = index_->dataset_at(file, path, t)) {
    if (!v->present) return std::nullopt;
    return v->op.spec;
  }
  return now;
}

std::vector<std::string> HistoryView::attribute_names(const std::string& file, const std::string& object,
                                                      uint64_t t) {
  std::vector<std::string> now = view_->attribute_names(file, object, t);
  index_->refresh();
  return names_at(now, index_->attributes(file, object),
                  [&](const std::string& n) { return index_->attribute_at(file, object, n, t); });
}

std::optional<AttributeValue> HistoryView::attribute(const std::string& file, const std::string& object,
                                                     const std::string& name, uint64_t t) {
  std::optional<AttributeValue> now = view_->attribute(file, object, name, t);
  index_->refresh();
  if (auto v = index_->attribute_at(file, object, name, t)) {
    if (!v->present) return std::nullopt;
    return v->op.attr;
  }
  return now;
}

bool HistoryView::read_chunk_stored(const ChunkKey& key, uint64_t t, std::string* stored,
                                    uint32_t* filter_mask) {
  bool now = view_->read_chunk_stored(key, t, stored, filter_mask);
  index_->refresh();
  if (auto v = index_->chunk_at(key.file, key.dataset, key.coords, t)) {
    if (!v->present) return false;
    *stored = index_->read_chunk(*v);
    *filter_mask = v->op.filter_mask;
    return true;
  }
  return now;
}

}  // namespace h5tx
