// Command-line parsing for the h5tx tool: each subcommand declares its
// options; parse_args checks the command line against that declaration and
// throws UsageError (exit status 2) for anything it does not accept. Also the
// parsers of the values operators type: dtypes, shapes, slices, FILE:/path.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

#include "h5tx/types.hpp"

namespace h5tx {
namespace cli {

// A command line the tool cannot accept: printed as one line, exit status 2.
class UsageError : public std::runtime_error {
 public:
  explicit UsageError(const std::string& message) : std::runtime_error(message) {}
};

struct OptionSpec {
  std::string name;   // without the leading "--"
  std::string value;  // name of the value ("N", "DTYPE"); empty for a flag
  std::string help;
};

struct CommandSpec {
  std::string name;     // "ingest"
  std::string usage;    // "HOME FILE:/path --from INPUT [options]"
  std::string summary;  // one paragraph
  std::vector<OptionSpec> options;
  size_t min_positional = 0;
  size_t max_positional = 0;
};

struct Args {
  std::vector<std::string> positional;
  std::map<std::string, std::string> values;  // options with a value
  std::set<std::string> flags;                // options without one
  bool help = false;

  bool has(const std::string& name) const { return values.count(name) || flags.count(name); }
  std::string get(const std::string& name, const std::string& fallback = "") const;
  // The option's value as an unsigned integer in [lo, hi]; UsageError otherwise.
  uint64_t get_uint(const std::string& name, uint64_t fallback, uint64_t lo = 0,
                    uint64_t hi = UINT64_MAX) const;
  double get_double(const std::string& name, double fallback) const;  // non-negative, finite
  // Any number: negative, "nan", "inf", "-inf" included (the caller checks
  // what its use allows).
  double get_number(const std::string& name, double fallback) const;
  // A duration given in seconds ("10", "0.5"), at most a year.
  std::chrono::milliseconds get_seconds(const std::string& name, double fallback) const;
};

// Parses argv[first..argc). "--name value", "--name=value", flags, "--help"/"-h",
// "--" ends the options. UsageError for unknown options, missing values,
// a flag given a value, or a wrong number of positional arguments (unless
// --help was given).
Args parse_args(const CommandSpec& spec, const std::vector<std::string>& argv);

// The --help text of a command.
std::string help_text(const CommandSpec& spec);

// "FILE:/path" of the store: the data file name and the absolute dataset path.
struct Target {
  std::string file;
  std::string path;
};
// UsageError unless `s` is NAME:/PATH with a nonempty NAME without '/'.
Target parse_target(const std::string& s);

// "64,64,64" -> {64,64,64}. UsageError on an empty list, a non-number or a
// number out of range; zero is allowed only if allow_zero. "unlimited" or
// "inf" gives kUnlimited when allow_unlimited.
Shape parse_shape(const std::string& s, const std::string& what, bool allow_zero = false,
                  bool allow_unlimited = false);
std::string format_shape(const Shape& s, const char* sep = ",");

// UsageError wrapper around h5tx::parse_dtype.
DType parse_dtype_arg(const std::string& s);

// "a:b,c:d,e" (half-open ranges; a single index means i:i+1; an empty side
// means the dimension's start or end) against `shape`: start and count.
void parse_slice(const std::string& s, const Shape& shape, Shape* start, Shape* count);

// "deflate:N" -> level N (1..9); "none" -> 0.
int parse_compress(const std::string& s);

// Sets of chunk indices written as ranges, "0-15,32,40-47" (inclusive).
std::string format_ranges(const std::vector<uint64_t>& sorted_indices);
// Appends the indices of `s`; false if it does not parse.
bool parse_ranges(const std::string& s, std::vector<uint64_t>* out);

// The one line an error prints (exit status 1): e.what() with line breaks
// replaced, and an HDF5 error's call chain ("H5Fopen(): unable to open file;
// H5F_open(): ...; H5F__super_read(): file signature not found") cut to its
// innermost cause ("file signature not found").
std::string error_line(const std::exception& e);
// "what: F1(): d1; F2(): d2; ...; Fn(): dn" -> "what: dn" (from a system
// call's description only its error message).
std::string condense_hdf5_chain(const std::string& detail);

// 16 lowercase hex digits (txids, ingest ids).
std::string hex16(uint64_t v);

// Human-readable sizes, rates, durations, times.
std::string format_bytes(double bytes);           // "12.3 MiB"
std::string format_duration(double seconds);      // "1:02:03" / "2:03" / "4.2 s"
std::string format_time_micros(uint64_t micros);  // "2026-11-21 21:50:03.123456 UTC"

}  // namespace cli
}  // namespace h5tx
