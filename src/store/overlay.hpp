// The read overlay of redo mode: an in-memory index of the committed,
// not yet flushed transactions. For every chunk it lists the versions in the
// journal (txid, transaction directory, chunk file) and for every file and
// dataset the catalog versions; the chunk bytes stay on disk and are read on
// demand. Readers ask for the newest version at or below their snapshot.
//
// Locking: readers hold a ReaderLock on mutex() across a lookup and the
// read of the chunk file it returns; the flusher removes versions under the
// exclusive lock before it renames their directories away, so a version a
// reader found stays readable until the reader lets go. Readers release the
// lock before they look at an HDF5 file: the flusher writes a batch into the
// files before it removes the batch from the overlay, and catalog versions
// only grow things, so a version missing from the overlay is in the file.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "h5tx/types.hpp"
#include "journal/manifest.hpp"
#include "util/mutex.hpp"

namespace h5tx {

struct ChunkKey {
  std::string file;
  std::string dataset;
  Shape coords;
  bool operator<(const ChunkKey& o) const {
    if (file != o.file) return file < o.file;
    if (dataset != o.dataset) return dataset < o.dataset;
    return coords < o.coords;
  }
};

// Where one committed copy of a chunk is (kept small: one per pending chunk).
struct ChunkVersion {
  uint64_t txid = 0;
  std::shared_ptr<const std::string> dir;  // the working_<txid>_done directory
  std::string chunk_file;
  uint64_t offset = 0;
  uint64_t size = 0;
  uint64_t hash = 0;
  uint32_t filter_mask = 0;
};

class Overlay {
 public:
  // Readers hold ReaderLock(mutex()) around the lookups below.
  SharedMutex& mutex() const RETURN_CAPABILITY(mu_) { return mu_; }

  // Adds a committed transaction (exclusive lock taken inside).
  void add(const journal::Manifest& m, const std::string& dir) EXCLUDES(mu_);
  // Drops every version a flushed transaction added (exclusive lock inside).
  void remove(const journal::Manifest& m) EXCLUDES(mu_);

  // The rest need the read lock held.
  // Newest version of the chunk with txid <= snapshot, or nullptr.
  const ChunkVersion* find_chunk(const ChunkKey& key, uint64_t snapshot) const REQUIRES_SHARED(mu_);
  bool file_created(const std::string& file, uint64_t snapshot) const REQUIRES_SHARED(mu_);
  // Files created at or below snapshot.
  std::vector<std::string> files(uint64_t snapshot) const REQUIRES_SHARED(mu_);
  // Datasets of `file` created at or below snapshot.
  std::vector<std::string> datasets(const std::string& file, uint64_t snapshot) const REQUIRES_SHARED(mu_);
  // The creates and extends of a dataset at or below snapshot, in txid order.
  struct CatalogVersion {
    uint64_t txid;
    bool create;  // create_dataset (spec) or extend_dataset (shape)
    DatasetSpec spec;
    Shape shape;
  };
  std::vector<CatalogVersion> dataset_versions(const std::string& file, const std::string& path,
                                               uint64_t snapshot) const REQUIRES_SHARED(mu_);
  // The dataset's spec: `base` (the spec in the HDF5 file, if any) with
  // `versions` applied: a create supplies the spec if there is none yet,
  // every create and extend grows the extent. nullopt if neither exists.
  static std::optional<DatasetSpec> apply(std::optional<DatasetSpec> base,
                                          const std::vector<CatalogVersion>& versions);
  // True if the overlay has a create of this dataset at or below snapshot
  // (then the HDF5 file need not be consulted).
  bool dataset_created(const std::string& file, const std::string& path, uint64_t snapshot) const
      REQUIRES_SHARED(mu_);

  // Attribute sets and deletes on `object` of `file` at or below snapshot,
  // in txid (then operation) order.
  struct AttributeVersion {
    uint64_t txid;
    std::string name;
    bool deleted;  // delete_attribute; otherwise set_attribute with `value`
    AttributeValue value;
  };
  std::vector<AttributeVersion> attribute_versions(const std::string& file, const std::string& object,
                                                   uint64_t snapshot) const REQUIRES_SHARED(mu_);

  size_t chunk_keys() const EXCLUDES(mu_);

 private:
  using DatasetKey = std::pair<std::string, std::string>;

  mutable SharedMutex mu_;
  std::map<ChunkKey, std::vector<ChunkVersion>> chunks_ GUARDED_BY(mu_);  // versions in txid order
  std::map<std::string, std::vector<uint64_t>> files_ GUARDED_BY(mu_);
  std::map<DatasetKey, std::vector<CatalogVersion>> datasets_ GUARDED_BY(mu_);
  std::map<DatasetKey, std::vector<AttributeVersion>> attributes_ GUARDED_BY(mu_);  // by (file, object)
};

// Grows `shape` to at least `to` in every dimension (extend semantics).
void grow_shape(Shape* shape, const Shape& to);

}  // namespace h5tx
