// Redo mode: a cache of the catalog as the HDF5 files in data/ hold it
// (whether a file exists, each dataset's spec or its absence), so that
// transactions validate writes and read specs without opening an HDF5 file
// or waiting for the data-file lock that the flusher holds for a batch.
//
// The files change only when the flusher applies a batch. Correctness rests
// on two orderings, kept by RedoStore:
//  - put() is called with the data-file lock held, right after reading the
//    file, so an entry is never older than a batch applied before it;
//  - the flusher calls invalidate() for every file a batch changes the
//    catalog of after writing the files and before removing the batch from
//    the read overlay; until then a stale entry is still correct, because
//    readers apply the overlay's creates and extends on top of it (they only
//    add or grow, so applying one the file already has is harmless).
#pragma once

#include <map>
#include <optional>
#include <string>
#include <utility>

#include "h5tx/types.hpp"
#include "util/mutex.hpp"

namespace h5tx {

class CatalogCache {
 public:
  // Whether data/<file> exists; false if not cached.
  bool find_file(const std::string& file, bool* exists) EXCLUDES(mu_);
  void put_file(const std::string& file, bool exists) EXCLUDES(mu_);
  // The spec of `path` in data/<file> (nullopt: no such dataset); false if
  // not cached.
  bool find_spec(const std::string& file, const std::string& path, std::optional<DatasetSpec>* spec)
      EXCLUDES(mu_);
  void put_spec(const std::string& file, const std::string& path, const std::optional<DatasetSpec>& spec)
      EXCLUDES(mu_);
  // Forgets everything cached about `file`.
  void invalidate(const std::string& file) EXCLUDES(mu_);

 private:
  Mutex mu_;
  std::map<std::string, bool> files_ GUARDED_BY(mu_);
  std::map<std::pair<std::string, std::string>, std::optional<DatasetSpec>> specs_ GUARDED_BY(mu_);
};

}  // namespace h5tx
