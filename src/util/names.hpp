// The one place that decides which names h5tx accepts: data file names
// (`vol.h5`) and HDF5 object paths (`/group/dataset`), whether they come
// from the API, the CLI or a record read from disk. A name that passes can
// be joined to a store directory without leaving it, and leaves room for
// every suffix the store appends to it.
#pragma once

#include <cstddef>
#include <string>

namespace h5tx {
namespace names {

// Longest data file name, in bytes. The store appends at most
// kReservedPrefix + ".tmp" and ".journal" to a name it was given, and
// NAME_MAX is 255 on every Linux file system.
constexpr size_t kMaxFileNameBytes = 200;
// Names beginning with this are the store's own scratch files in data/
// (an unfinished create); no data file may begin with it.
constexpr char kReservedPrefix[] = ".h5tx.";
// Longest HDF5 object path and path component (including the leading '/').
constexpr size_t kMaxObjectPathBytes = 1024;
constexpr size_t kMaxComponentBytes = 255;
// Longest attribute name.
constexpr size_t kMaxAttributeNameBytes = 255;

// "" if `name` is a valid data file name, else what is wrong: empty, longer
// than kMaxFileNameBytes, "." or "..", contains '/', NUL or a control
// character (0x00-0x1f, 0x7f), or begins with kReservedPrefix.
std::string file_name_problem(const std::string& name);
// "" if `path` is a valid absolute HDF5 object path ("/" is the root group):
// begins with '/', no empty, "." or ".." component, no trailing '/', no NUL
// or control character, within the length limits.
std::string object_path_problem(const std::string& path);
// The same for a dataset path: an object path other than "/".
std::string dataset_path_problem(const std::string& path);
// An attribute name: 1..kMaxAttributeNameBytes bytes, no NUL or control character.
std::string attribute_name_problem(const std::string& name);

// Throwing forms: InvalidArgumentError naming the value (for names given by a
// caller). Records read from disk use the *_problem forms and throw
// CorruptionError naming the file they came from.
void check_file_name(const std::string& name);
void check_object_path(const std::string& path, const std::string& where);
void check_dataset_path(const std::string& path, const std::string& where);
void check_attribute_name(const std::string& name, const std::string& where);

// `s` with control characters (0x00-0x1f, 0x7f: escape sequences among
// them) and backslashes shown as \xNN escapes: safe to print to a terminal
// (log, dump, error messages). UTF-8 text passes unchanged.
std::string printable(const std::string& s);

}  // namespace names
}  // namespace h5tx
