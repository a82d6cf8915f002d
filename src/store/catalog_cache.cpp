// Redo mode: the cache of the data files' catalog. See store/catalog_cache.hpp.
#include "store/catalog_cache.hpp"

namespace h5tx {

bool CatalogCache::find_file(const std::string& file, bool* exists) {
  MutexLock lock(mu_);
  auto it = files_.find(file);
  if (it == files_.end()) return false;
  *exists = it->second;
  return true;
}

void CatalogCache::put_file(const std::string& file, bool exists) {
  MutexLock lock(mu_);
  files_[file] = exists;
}

bool CatalogCache::find_spec(const std::string& file, const std::string& path,
                             std::optional<DatasetSpec>* spec) {
  MutexLock lock(mu_);
  auto it = specs_.find({file, path});
  if (it == specs_.end()) return false;
  *spec = it->second;
  return true;
}

void CatalogCache::put_spec(const std::string& file, const std::string& path,
                            const std::optional<DatasetSpec>& spec) {
  MutexLock lock(mu_);
  specs_[{file, path}] = spec;
}

void CatalogCache::invalidate(const std::string& file) {
  MutexLock lock(mu_);
  files_.erase(file);
  auto it = specs_.lower_bound({file, std::string()});
  while (it != specs_.end() && it->first.first == file) it = specs_.erase(it);
}

}  // namespace h5tx
