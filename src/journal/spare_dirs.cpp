// Recycled transaction directories (see spare_dirs.hpp).
#include "journal/spare_dirs.hpp"

#include "journal/manifest.hpp"
#include "journal/staged_parts.hpp"
#include "journal/tx_dir.hpp"

namespace h5tx {
namespace journal {

SpareDirs::SpareDirs(Env* env, size_t max_count, uint64_t max_bytes)
    : env_(env), max_count_(max_count), max_bytes_(max_bytes) {}

void SpareDirs::offer(const std::string& dir) {
  bool keep = false;
  {
    MutexLock lock(mu_);
    keep = dirs_.size() < max_count_ && bytes_ < max_bytes_;
  }
  uint64_t bytes = 0;
  if (keep) {
    std::vector<std::string> parts;
    for (const auto& name : env_->list_dir(dir)) {
      if (valid_part_name(name))
        parts.push_back(name);
      else if (name != kManifestName && name != kSpillFileName)
        keep = false;
      else
        bytes += env_->file_size(path_join(dir, name));
    }
    // A staged transaction's part files (formats/redo-manifest.md, "Staged
    // parts"): nothing refers to them once it is applied, and a reuse never
    // writes them, so they go now rather than with the directory. No sync:
    // the directory is garbage to recovery until a commit renames it _done.
    if (keep)
      for (const auto& name : parts) env_->remove_file(path_join(dir, name));
  }
  if (keep) {
    MutexLock lock(mu_);
    if (dirs_.size() < max_count_ && bytes_ + bytes <= max_bytes_) {
      dirs_.push_back({dir, bytes});
      bytes_ += bytes;
      return;
    }
  }
  env_->remove_flat_dir(dir);
}

void SpareDirs::add_fresh(const std::string& dir) {
  MutexLock lock(mu_);
  dirs_.push_back({dir, 0});
}

void SpareDirs::make_fresh(const std::string& journal_dir, uint64_t temp_id) {
  std::string dir = path_join(journal_dir, tx_dir_name(temp_id, TxState::Temp));
  env_->create_dir(dir);
  env_->open(path_join(dir, kManifestName), OpenMode::CreateNew);
  env_->sync_dir(dir);
  add_fresh(dir);
}

std::string SpareDirs::take() {
  MutexLock lock(mu_);
  if (dirs_.empty()) return std::string();
  Spare s = std::move(dirs_.back());
  dirs_.pop_back();
  bytes_ -= s.bytes;
  return s.dir;
}

void SpareDirs::clear() {
  std::vector<Spare> dirs;
  {
    MutexLock lock(mu_);
    dirs.swap(dirs_);
    bytes_ = 0;
  }
  for (const auto& s : dirs) env_->remove_flat_dir(s.dir);
}

size_t SpareDirs::size() const {
  MutexLock lock(mu_);
  return dirs_.size();
}

}  // namespace journal
}  // namespace h5tx
