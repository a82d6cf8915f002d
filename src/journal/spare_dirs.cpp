// Recycled transaction directories (see spare_dirs.hpp).
#include "journal/spare_dirs.hpp"

#include "journal/manifest.hpp"

namespace h5tx {
namespace journal {

SpareDirs::SpareDirs(Env* env, size_t max_count, uint64_t max_bytes)
    : env_(env), max_count_(max_count), max_bytes_(max_bytes) {}

void SpareDirs::offer(const std::string& dir) {
  bool keep = false;
  {
    std::lock_guard<std::mutex> lock(mu_);
    keep = dirs_.size() < max_count_;
  }
  if (keep) {
    std::vector<std::string> names = env_->list_dir(dir);
    keep = names.size() == 1 && names[0] == kManifestName &&
           env_->file_size(path_join(dir, kManifestName)) <= max_bytes_;
  }
  if (!keep) {
    env_->remove_flat_dir(dir);
    return;
  }
  std::lock_guard<std::mutex> lock(mu_);
  dirs_.push_back(dir);
}

std::string SpareDirs::take() {
  std::lock_guard<std::mutex> lock(mu_);
  if (dirs_.empty()) return std::string();
  std::string d = std::move(dirs_.back());
  dirs_.pop_back();
  return d;
}

void SpareDirs::clear() {
  std::vector<std::string> dirs;
  {
    std::lock_guard<std::mutex> lock(mu_);
    dirs.swap(dirs_);
  }
  for (const auto& d : dirs) env_->remove_flat_dir(d);
}

size_t SpareDirs::size() const {
  std::lock_guard<std::mutex> lock(mu_);
  return dirs_.size();
}

}  // namespace journal
}  // namespace h5tx
