// Reads of a redo store with history as of an older txid T (an as-of
// transaction, TxOptions::as_of). Every read first asks the committed view
// at snapshot T (the overlay's transactions up to T over the data files,
// which may hold newer versions), then the history index: a version
// recorded as replaced by a txid above T is the one T saw and wins;
// without one, nothing after T replaced the thing and the first answer
// stands. In that order, because the flusher makes a replaced version
// durable in history/ before it overwrites it: a data-file read that saw
// the newer version is followed by an index refresh that finds the older.
//
// Thread-safe (the view and the index lock themselves).
#pragma once

#include "flush/history_index.hpp"
#include "store/committed_view.hpp"

namespace h5tx {

class HistoryView : public CommittedReads {
 public:
  HistoryView(CommittedView* view, HistoryIndex* index) : view_(view), index_(index) {}

  bool file_exists(const std::string& file, uint64_t t) override;
  std::vector<std::string> list_files(uint64_t t) override;
  std::vector<std::string> list_datasets(const std::string& file, uint64_t t) override;
  std::optional<DatasetSpec> dataset_spec(const std::string& file, const std::string& path,
                                          uint64_t t) override;
  std::vector<std::string> attribute_names(const std::string& file, const std::string& object,
                                           uint64_t t) override;
  std::optional<AttributeValue> attribute(const std::string& file, const std::string& object,
                                          const std::string& name, uint64_t t) override;
  bool read_chunk_stored(const ChunkKey& key, uint64_t t, std::string* stored,
                         uint32_t* filter_mask) override;

 private:
  CommittedView* view_;
  HistoryIndex* index_;
};

}  // namespace h5tx
