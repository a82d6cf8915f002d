// The committed state of a redo store as of a snapshot: the journal's
// overlay (committed, not yet flushed transactions) over the data files.
// RedoStore feeds it (add at commit and recovery, flushed after a batch);
// transactions read through it.
//
// Each lookup asks the overlay first and lets go of it before it looks at an
// HDF5 file (waiting for the data files while holding the overlay would
// stall commits, which publish into the overlay, behind a flush batch). That
// is safe because the flusher writes a batch into the files before it removes
// it from the overlay, and catalog versions only add or grow: a version at or
// below the snapshot is in the overlay, in the file, or in both. What the
// files say of the catalog is cached (catalog_): a cached answer needs
// neither the data-file lock nor HDF5.
//
// In a reader process (DataFiles::live_reader) a writer process's flusher
// applies transactions up to this process's oldest snapshot meanwhile: data
// files are read under the data gate (flush/procs.hpp), and a chunk copy
// whose directory went away is read from the data files instead.
//
// Thread-safe: every method may be called from any thread (the overlay
// and the catalog cache lock themselves; the data files are read under
// DataFiles' lock).
#pragma once

#include <optional>

#include "flush/procs.hpp"
#include <string>
#include <vector>

#include "flush/data_files.hpp"
#include "h5tx/env.hpp"
#include "journal/manifest.hpp"
#include "store/catalog_cache.hpp"
#include "store/overlay.hpp"

namespace h5tx {

// What a transaction reads of the committed state as of its snapshot:
// CommittedView (the newest state: overlay over the data files) and
// HistoryView (store/history_view.hpp: as of an older txid).
class CommittedReads {
 public:
  virtual ~CommittedReads() = default;
  virtual bool file_exists(const std::string& file, uint64_t snapshot) = 0;
  virtual std::vector<std::string> list_files(uint64_t snapshot) = 0;
  virtual std::vector<std::string> list_datasets(const std::string& file, uint64_t snapshot) = 0;
  virtual std::optional<DatasetSpec> dataset_spec(const std::string& file, const std::string& path,
                                                  uint64_t snapshot) = 0;
  virtual std::vector<std::string> attribute_names(const std::string& file, const std::string& object,
                                                   uint64_t snapshot) = 0;
  virtual std::optional<AttributeValue> attribute(const std::string& file, const std::string& object,
                                                  const std::string& name, uint64_t snapshot) = 0;
  virtual bool read_chunk_stored(const ChunkKey& key, uint64_t snapshot, std::string* stored,
                                 uint32_t* filter_mask) = 0;
};

class CommittedView : public CommittedReads {
 public:
  // `files` must outlive the view.
  CommittedView(Env* env, DataFiles* files) : env_(env), files_(files) {}

  // A committed transaction (its directory in journal/) becomes visible.
  void add(const journal::Manifest& m, const std::string& dir) { overlay_.add(m, dir); }
  // The flusher applied these to the data files: forget what was cached of
  // their catalog before the overlay stops covering the change, then drop
  // them from the overlay.
  void flushed(const std::vector<journal::Manifest>& ms);

  bool file_exists(const std::string& file, uint64_t snapshot) override;
  std::vector<std::string> list_files(uint64_t snapshot) override;
  std::vector<std::string> list_datasets(const std::string& file, uint64_t snapshot) override;
  std::optional<DatasetSpec> dataset_spec(const std::string& file, const std::string& path,
                                          uint64_t snapshot) override;
  // The attributes of `object` at `snapshot` (the file's, then the
  // overlay's sets and deletes on top): their sorted names, or one value
  // (nullopt if there is none). The object itself is not checked.
  std::vector<std::string> attribute_names(const std::string& file, const std::string& object,
                                           uint64_t snapshot) override;
  std::optional<AttributeValue> attribute(const std::string& file, const std::string& object,
                                          const std::string& name, uint64_t snapshot) override;
  // Stored bytes and filter mask of the chunk at `snapshot`; false if never written.
  bool read_chunk_stored(const ChunkKey& key, uint64_t snapshot, std::string* stored,
                         uint32_t* filter_mask) override;

 private:
  // A reader process (DataFiles::live_reader): the data gate, shared, for
  // one read of the data files; held(...) under the data-file lock then
  // drops handles a flush made stale.
  std::optional<procs::Gate::ReadHold> gate_hold();
  void held(const std::optional<procs::Gate::ReadHold>& hold) REQUIRES(files_->mutex());
  enum class Moved { No, ReadThere, InDataFiles };
  Moved read_moved_chunk(const ChunkVersion& v, std::string* stored);

  Env* env_;
  DataFiles* files_;
  CatalogCache catalog_;  // the data files' catalog, off the data-file lock
  Overlay overlay_;
};

}  // namespace h5tx
