// The versions recorded in HOME/history/ (formats/history.md), indexed for
// reads as of a txid T: the state of a thing at T is the recorded version
// with the smallest replacing txid above T, or, if there is none, the
// current state (nothing replaced it after T). Segments are loaded by
// refresh(), which lists history/ (new segments in, removed ones out);
// catalog versions are kept in memory, chunk copies are read from their
// segment when asked for.
//
// Thread-safe (one mutex, held while a segment is loaded: a leaf lock,
// nothing else is taken under it).
#pragma once

#include <map>
#include <optional>
#include <set>
#include <string>
#include <tuple>
#include <vector>

#include "h5tx/env.hpp"
#include "journal/history_segment.hpp"
#include "util/mutex.hpp"

namespace h5tx {

class HistoryIndex {
 public:
  HistoryIndex(Env* env, std::string history_dir) : env_(env), dir_(std::move(history_dir)) {}

  // Loads segments written since the last call, forgets removed ones.
  // CorruptionError naming a damaged segment.
  void refresh() EXCLUDES(mu_);
  // The oldest txid reads may ask for (history/OLDEST).
  uint64_t oldest();
  // The newest txid of any segment loaded since this index was made (a
  // committed txid: with an empty journal, the store's newest).
  uint64_t newest() EXCLUDES(mu_);

  struct Version {
    bool present = false;
    journal::Op op;
    std::string segment;  // path, for the chunk bytes
  };
  std::optional<Version> file_at(const std::string& file, uint64_t t) EXCLUDES(mu_);
  std::optional<Version> dataset_at(const std::string& file, const std::string& path, uint64_t t)
      EXCLUDES(mu_);
  std::optional<Version> attribute_at(const std::string& file, const std::string& object,
                                      const std::string& name, uint64_t t) EXCLUDES(mu_);
  std::optional<Version> chunk_at(const std::string& file, const std::string& dataset, const Shape& coords,
                                  uint64_t t) EXCLUDES(mu_);
  // The things with a recorded version: files, datasets of a file,
  // attribute names of an object.
  std::vector<std::string> files() EXCLUDES(mu_);
  std::vector<std::string> datasets(const std::string& file) EXCLUDES(mu_);
  std::vector<std::string> attributes(const std::string& file, const std::string& object) EXCLUDES(mu_);
  // The stored bytes of a present chunk version.
  std::string read_chunk(const Version& v);

 private:
  // kind (0 file, 1 dataset, 2 attribute, 3 chunk), file, path, name, coords
  using Key = std::tuple<int, std::string, std::string, std::string, Shape>;
  std::optional<Version> at(const Key& k, uint64_t t) EXCLUDES(mu_);

  Env* env_;
  std::string dir_;
  Mutex mu_;
  std::set<std::string> loaded_ GUARDED_BY(mu_);
  uint64_t newest_ GUARDED_BY(mu_) = 0;
  // by key, then by the txid that replaced the version
  std::map<Key, std::map<uint64_t, Version>> versions_ GUARDED_BY(mu_);
};

}  // namespace h5tx
