// Validation of data file names and HDF5 object paths (util/names.hpp).
#include "util/names.hpp"

#include <cstdio>

#include "h5tx/error.hpp"

namespace h5tx {
namespace names {

namespace {

bool has_control(const std::string& s) {
  for (unsigned char c : s)
    if (c < 0x20 || c == 0x7f) return true;
  return false;
}

}  // namespace

std::string file_name_problem(const std::string& name) {
  if (name.empty()) return "is empty";
  if (name.size() > kMaxFileNameBytes)
    return "is longer than " + std::to_string(kMaxFileNameBytes) + " bytes";
  if (name == "." || name == "..") return "is not a file name";
  if (name.find('/') != std::string::npos) return "contains '/'";
  if (has_control(name)) return "contains a NUL or control character";
  if (name.compare(0, sizeof kReservedPrefix - 1, kReservedPrefix) == 0)
    return std::string("begins with '") + kReservedPrefix + "', which is reserved for the store's own files";
  return "";
}

std::string object_path_problem(const std::string& path) {
  if (path.empty() || path[0] != '/') return "is not absolute (like \"/group/name\")";
  if (path.size() > kMaxObjectPathBytes)
    return "is longer than " + std::to_string(kMaxObjectPathBytes) + " bytes";
  if (has_control(path)) return "contains a NUL or control character";
  if (path == "/") return "";
  if (path.back() == '/') return "ends with '/'";
  size_t start = 1;
  while (start <= path.size()) {
    size_t end = path.find('/', start);
    if (end == std::string::npos) end = path.size();
    std::string part = path.substr(start, end - start);
    if (part.empty()) return "has an empty component ('//')";
    if (part == "." || part == "..") return "has a '" + part + "' component";
    if (part.size() > kMaxComponentBytes)
      return "has a component longer than " + std::to_string(kMaxComponentBytes) + " bytes";
    start = end + 1;
  }
  return "";
}

std::string dataset_path_problem(const std::string& path) {
  if (path == "/") return "names the root group, not a dataset";
  return object_path_problem(path);
}

std::string attribute_name_problem(const std::string& name) {
  if (name.empty()) return "is empty";
  if (name.size() > kMaxAttributeNameBytes)
    return "is longer than " + std::to_string(kMaxAttributeNameBytes) + " bytes";
  if (has_control(name)) return "contains a NUL or control character";
  return "";
}

void check_file_name(const std::string& name) {
  std::string p = file_name_problem(name);
  if (!p.empty())
    throw InvalidArgumentError(printable(name),
                               "not a valid data file name (a plain file name like 'vol.h5'): " + p);
}

void check_object_path(const std::string& path, const std::string& where) {
  std::string p = object_path_problem(path);
  if (!p.empty()) throw InvalidArgumentError(printable(where), "HDF5 path " + p);
}

void check_dataset_path(const std::string& path, const std::string& where) {
  std::string p = dataset_path_problem(path);
  if (!p.empty()) throw InvalidArgumentError(printable(where), "dataset path " + p);
}

void check_attribute_name(const std::string& name, const std::string& where) {
  std::string p = attribute_name_problem(name);
  if (!p.empty()) throw InvalidArgumentError(printable(where), "attribute name " + p);
}

std::string printable(const std::string& s) {
  std::string out;
  out.reserve(s.size());
  for (unsigned char c : s) {
    if (c < 0x20 || c == 0x7f || c == '\\') {
      char buf[5];
      std::snprintf(buf, sizeof buf, "\\x%02x", c);
      out += buf;
    } else {
      out += char(c);
    }
  }
  return out;
}

}  // namespace names
}  // namespace h5tx
