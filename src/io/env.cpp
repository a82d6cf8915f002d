// Env helpers shared by every Env implementation, and path utilities.
#include "h5tx/env.hpp"

#include "h5tx/error.hpp"

#include <cerrno>

namespace h5tx {

std::vector<Env::DirEntry> Env::list_dir_entries(const std::string& path) {
  std::vector<DirEntry> entries;
  for (std::string& name : list_dir(path)) {
    DirEntry d;
    d.directory = is_directory(path_join(path, name));
    d.name = std::move(name);
    entries.push_back(std::move(d));
  }
  return entries;
}

void Env::create_dir_if_missing(const std::string& path) {
  try {
    create_dir(path);
  } catch (const AlreadyExistsError&) {
    if (!is_directory(path)) throw IoError(path, "exists and is not a directory");
  }
}

void Env::remove_flat_dir(const std::string& path) {
  for (const auto& name : list_dir(path)) remove_file(path_join(path, name));
  remove_dir(path);
}

std::string Env::read_all(const std::string& path, uint64_t max_bytes) {
  auto f = open(path, OpenMode::ReadOnly);
  uint64_t n = f->size();
  if (n > max_bytes)
    throw IoError(path,
                  "file is " + std::to_string(n) + " bytes, more than the " + std::to_string(max_bytes) +
                      " expected of it (damaged?)",
                  EFBIG);
  std::string s(n, '\0');
  size_t got = n ? f->read(0, &s[0], n) : 0;
  if (got != n) throw IoError(path, "short read: file changed while being read");
  return s;
}

void Env::write_file_atomic(const std::string& path, const std::string& contents) {
  std::string tmp = path + ".tmp";
  {
    auto f = open(tmp, OpenMode::CreateTrunc);
    if (!contents.empty()) f->write(0, contents.data(), contents.size());
    f->sync();
  }
  rename(tmp, path);
  sync_dir(path_dirname(path));
}

std::string path_join(const std::string& a, const std::string& b) {
  if (a.empty()) return b;
  if (b.empty()) return a;
  if (a.back() == '/') return a + b;
  return a + "/" + b;
}

std::string path_dirname(const std::string& path) {
  auto pos = path.find_last_of('/');
  if (pos == std::string::npos) return ".";
  if (pos == 0) return "/";
  return path.substr(0, pos);
}

std::string path_basename(const std::string& path) {
  auto pos = path.find_last_of('/');
  return pos == std::string::npos ? path : path.substr(pos + 1);
}

}  // namespace h5tx
