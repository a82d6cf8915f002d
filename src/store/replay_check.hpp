// Checks committed redo transactions, in txid order, against the catalog
// they will be applied to (the data files as flushed, then each earlier
// transaction's catalog operations), before recovery or a read-only open
// trusts them. A MANIFEST whose checksum holds is still untrusted: an
// operation that cannot apply (a chunk outside its dataset, a missing file
// or dataset, an extend past the maximum shape, a chunk copy of a size no
// chunk of the dataset can have) would otherwise fail every flush, or hand
// HDF5 a chunk it over-reads. Not thread-safe; one per open.
#pragma once

#include <map>
#include <optional>
#include <set>
#include <string>
#include <utility>

#include "flush/data_files.hpp"
#include "journal/manifest.hpp"

namespace h5tx {

class ReplayCheck {
 public:
  // `files` must outlive this object; its handles are left open (close_all).
  explicit ReplayCheck(DataFiles* files) : files_(files) {}

  // CorruptionError naming `dir`, the txid and the operation if one cannot
  // apply, with the documented way out (h5tx recover --quarantine).
  void check(const journal::Manifest& m, const std::string& dir);

 private:
  bool file_exists(const std::string& file);
  // The dataset as the transactions so far leave it; nullopt if it does not exist.
  std::optional<DatasetSpec>& dataset(const std::string& file, const std::string& path);
  bool object_exists(const std::string& file, const std::string& object);
  std::string problem(const journal::Op& op);

  DataFiles* files_;
  std::map<std::string, bool> files_exist_;
  std::map<std::pair<std::string, std::string>, std::optional<DatasetSpec>> datasets_;
};

}  // namespace h5tx
