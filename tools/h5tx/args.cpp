// Command-line parsing and value parsers of the h5tx tool (see args.hpp).
#include "args.hpp"
#include "util/names.hpp"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <ctime>

#include "h5tx/error.hpp"

namespace h5tx {
namespace cli {

namespace {

bool parse_u64(const std::string& s, uint64_t* out) {
  if (s.empty() || s.size() > 20) return false;
  uint64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
    uint64_t d = uint64_t(c - '0');
    if (v > (UINT64_MAX - d) / 10) return false;
    v = v * 10 + d;
  }
  *out = v;
  return true;
}

std::vector<std::string> split(const std::string& s, char sep) {
  std::vector<std::string> parts;
  size_t begin = 0;
  while (true) {
    size_t end = s.find(sep, begin);
    parts.push_back(s.substr(begin, end == std::string::npos ? std::string::npos : end - begin));
    if (end == std::string::npos) break;
    begin = end + 1;
  }
  return parts;
}

const OptionSpec* find_option(const CommandSpec& spec, const std::string& name) {
  for (const OptionSpec& o : spec.options)
    if (o.name == name) return &o;
  return nullptr;
}

}  // namespace

std::string Args::get(const std::string& name, const std::string& fallback) const {
  auto it = values.find(name);
  return it == values.end() ? fallback : it->second;
}

uint64_t Args::get_uint(const std::string& name, uint64_t fallback, uint64_t lo, uint64_t hi) const {
  auto it = values.find(name);
  if (it == values.end()) return fallback;
  uint64_t v = 0;
  if (!parse_u64(it->second, &v) || v < lo || v > hi)
    throw UsageError("--" + name + " wants an integer in " + std::to_string(lo) + ".." + std::to_string(hi) +
                     ", not '" + it->second + "'");
  return v;
}

double Args::get_double(const std::string& name, double fallback) const {
  auto it = values.find(name);
  if (it == values.end()) return fallback;
  char* end = nullptr;
  errno = 0;
  double v = std::strtod(it->second.c_str(), &end);
  if (it->second.empty() || *end != '\0' || errno != 0 || !std::isfinite(v) || v < 0)
    throw UsageError("--" + name + " wants a non-negative number, not '" + it->second + "'");
  return v;
}

double Args::get_number(const std::string& name, double fallback) const {
  auto it = values.find(name);
  if (it == values.end()) return fallback;
  const std::string& text = it->second;
  char* end = nullptr;
  errno = 0;
  double v = std::strtod(text.c_str(), &end);
  // strtod also takes hex floats and "infinity"/"nan(...)": only decimal
  // numbers and nan, inf, -inf are documented.
  std::string lower;
  for (char c : text) lower += char(std::tolower(static_cast<unsigned char>(c)));
  const bool special = lower == "nan" || lower == "inf" || lower == "-inf" || lower == "+inf";
  const bool decimal = !text.empty() && text.find_first_not_of("+-.0123456789eE") == std::string::npos;
  if (text.empty() || *end != '\0' || errno == ERANGE || !(special || decimal))
    throw UsageError("--" + name + " wants a number (or nan, inf, -inf), not '" + text + "'");
  return v;
}

std::chrono::milliseconds Args::get_seconds(const std::string& name, double fallback) const {
  const double s = get_double(name, fallback);
  if (s > 365.0 * 24 * 3600)
    throw UsageError("--" + name + " wants at most a year of seconds, not '" + get(name) + "'");
  return std::chrono::milliseconds(static_cast<int64_t>(s * 1000.0 + 0.5));
}

Args parse_args(const CommandSpec& spec, const std::vector<std::string>& argv) {
  Args a;
  bool options_done = false;
  for (size_t i = 0; i < argv.size(); i++) {
    const std::string& arg = argv[i];
    if (options_done || arg.size() < 2 || arg[0] != '-') {
      a.positional.push_back(arg);
      continue;
    }
    if (arg == "--") {
      options_done = true;
      continue;
    }
    if (arg == "-h" || arg == "--help") {
      a.help = true;
      continue;
    }
    if (arg.compare(0, 2, "--") != 0)
      throw UsageError(spec.name + ": unknown option '" + arg + "' (see h5tx " + spec.name + " --help)");
    std::string name = arg.substr(2), value;
    bool has_value = false;
    size_t eq = name.find('=');
    if (eq != std::string::npos) {
      value = name.substr(eq + 1);
      name = name.substr(0, eq);
      has_value = true;
    }
    const OptionSpec* o = find_option(spec, name);
    if (!o)
      throw UsageError(spec.name + ": unknown option '--" + name + "' (see h5tx " + spec.name + " --help)");
    if (o->value.empty()) {
      if (has_value) throw UsageError(spec.name + ": option --" + name + " takes no value");
      a.flags.insert(name);
      continue;
    }
    if (!has_value) {
      if (i + 1 >= argv.size())
        throw UsageError(spec.name + ": option --" + name + " needs a value (" + o->value + ")");
      value = argv[++i];
    }
    a.values[name] = value;
  }
  if (a.help) return a;
  if (a.positional.size() < spec.min_positional || a.positional.size() > spec.max_positional)
    throw UsageError("usage: h5tx " + spec.name + " " + spec.usage);
  return a;
}

std::string help_text(const CommandSpec& spec) {
  std::string out = "usage: h5tx " + spec.name + " " + spec.usage + "\n\n" + spec.summary + "\n";
  if (!spec.options.empty()) {
    out += "\noptions:\n";
    for (const OptionSpec& o : spec.options) {
      std::string left = "  --" + o.name + (o.value.empty() ? "" : " " + o.value);
      if (left.size() < 26)
        left.resize(26, ' ');
      else
        left += "\n" + std::string(26, ' ');
      out += left + o.help + "\n";
    }
  }
  out += "  --help                  this text\n";
  return out;
}

Target parse_target(const std::string& s) {
  size_t colon = s.find(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 >= s.size() || s[colon + 1] != '/')
    throw UsageError("'" + s + "' is not FILE:/path (for example vol.h5:/raw/a)");
  Target t{s.substr(0, colon), s.substr(colon + 1)};
  // The library's one validator (util/names.hpp), so the CLI refuses
  // exactly what the API does, as a usage error.
  std::string problem = names::file_name_problem(t.file);
  if (!problem.empty())
    throw UsageError("'" + names::printable(t.file) +
                     "' is not a file name of the store's data/ directory: " + problem);
  problem = names::dataset_path_problem(t.path);
  if (!problem.empty()) throw UsageError("'" + names::printable(s) + "': the dataset path " + problem);
  return t;
}

Shape parse_shape(const std::string& s, const std::string& what, bool allow_zero, bool allow_unlimited) {
  Shape shape;
  if (s.empty()) throw UsageError(what + ": empty list (expected for example 64,64,64)");
  for (const std::string& part : split(s, ',')) {
    uint64_t v = 0;
    if (allow_unlimited && (part == "unlimited" || part == "inf" || part == "-1")) {
      shape.push_back(kUnlimited);
      continue;
    }
    if (!parse_u64(part, &v) || v >= (uint64_t(1) << 62))
      throw UsageError(what + ": '" + part + "' in '" + s + "' is not a number");
    if (v == 0 && !allow_zero) throw UsageError(what + ": a zero in '" + s + "'");
    shape.push_back(v);
  }
  if (shape.size() > 32) throw UsageError(what + ": more than 32 dimensions");
  return shape;
}

std::string format_shape(const Shape& s, const char* sep) {
  std::string out;
  for (size_t i = 0; i < s.size(); i++) {
    if (i) out += sep;
    out += s[i] == kUnlimited ? "unlimited" : std::to_string(s[i]);
  }
  return out;
}

DType parse_dtype_arg(const std::string& s) {
  try {
    return parse_dtype(s);
  } catch (const InvalidArgumentError&) {
    throw UsageError("unknown dtype '" + s + "' (expected u8, u16, u32, u64, i8, i16, i32, i64, f32, f64)");
  }
}

void parse_slice(const std::string& s, const Shape& shape, Shape* start, Shape* count) {
  std::vector<std::string> parts = split(s, ',');
  if (parts.size() != shape.size())
    throw UsageError("--slice '" + s + "' has " + std::to_string(parts.size()) +
                     " dimensions, the dataset has " + std::to_string(shape.size()));
  start->clear();
  count->clear();
  for (size_t d = 0; d < parts.size(); d++) {
    const std::string& p = parts[d];
    uint64_t a = 0, b = shape[d];
    size_t colon = p.find(':');
    bool ok;
    if (colon == std::string::npos) {
      ok = parse_u64(p, &a);
      b = a + 1;
    } else {
      std::string lo = p.substr(0, colon), hi = p.substr(colon + 1);
      ok = (lo.empty() || parse_u64(lo, &a)) && (hi.empty() || parse_u64(hi, &b));
    }
    if (!ok) throw UsageError("--slice '" + s + "': '" + p + "' is not a range a:b");
    if (a >= b || b > shape[d])
      throw UsageError("--slice '" + s + "': range '" + p +
                       "' is empty or outside 0:" + std::to_string(shape[d]));
    start->push_back(a);
    count->push_back(b - a);
  }
}

int parse_compress(const std::string& s) {
  if (s == "none") return 0;
  uint64_t level = 0;
  if (s.compare(0, 8, "deflate:") == 0 && parse_u64(s.substr(8), &level) && level >= 1 && level <= 9)
    return int(level);
  if (s == "deflate") return 4;
  throw UsageError("--compress '" + s + "': expected deflate:N with N in 1..9, or none");
}

std::string format_ranges(const std::vector<uint64_t>& v) {
  std::string out;
  for (size_t i = 0; i < v.size();) {
    size_t j = i;
    while (j + 1 < v.size() && v[j + 1] == v[j] + 1) j++;
    if (!out.empty()) out += ',';
    out += std::to_string(v[i]);
    if (j > i) out += "-" + std::to_string(v[j]);
    i = j + 1;
  }
  return out;
}

bool parse_ranges(const std::string& s, std::vector<uint64_t>* out) {
  if (s.empty()) return true;
  for (const std::string& part : split(s, ',')) {
    size_t dash = part.find('-');
    uint64_t a = 0, b = 0;
    if (dash == std::string::npos) {
      if (!parse_u64(part, &a)) return false;
      b = a;
    } else if (!parse_u64(part.substr(0, dash), &a) || !parse_u64(part.substr(dash + 1), &b) || b < a ||
               b - a > (uint64_t(1) << 32)) {
      return false;
    }
    for (uint64_t i = a; i <= b; i++) out->push_back(i);
  }
  return true;
}

std::string condense_hdf5_chain(const std::string& detail) {
  size_t call = detail.find("(): ");
  if (call == std::string::npos) return detail;
  size_t name = detail.rfind(' ', call);  // the chain starts at the first function name
  std::string head = name == std::string::npos ? "" : detail.substr(0, name);
  while (!head.empty() && (head.back() == ' ' || head.back() == ':')) head.pop_back();
  size_t last = detail.rfind("(): ");
  std::string cause = detail.substr(last + 4);
  size_t msg = cause.find("error message = '");
  if (msg != std::string::npos) {
    size_t end = cause.find('\'', msg + 17);
    if (end != std::string::npos) cause = cause.substr(msg + 17, end - msg - 17);
  }
  return head.empty() ? cause : head + ": " + cause;
}

std::string error_line(const std::exception& e) {
  std::string line = e.what();
  if (const Error* h = dynamic_cast<const Error*>(&e)) {
    if (h->code() == ErrorCode::Hdf5) {
      size_t at = line.find(h->detail());
      if (at != std::string::npos) line.replace(at, h->detail().size(), condense_hdf5_chain(h->detail()));
    }
  }
  for (char& c : line)
    if (c == '\n' || c == '\r') c = ' ';
  return line;
}

std::string hex16(uint64_t v) {
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", (unsigned long long)v);
  return buf;
}

std::string format_bytes(double bytes) {
  static const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  int u = 0;
  while (bytes >= 1024 && u < 4) {
    bytes /= 1024;
    u++;
  }
  char buf[64];
  if (u == 0)
    std::snprintf(buf, sizeof buf, "%.0f B", bytes);
  else
    std::snprintf(buf, sizeof buf, "%.1f %s", bytes, units[u]);
  return buf;
}

std::string format_duration(double s) {
  char buf[64];
  if (!std::isfinite(s) || s < 0) return "?";
  if (s < 10) {
    std::snprintf(buf, sizeof buf, "%.1f s", s);
  } else {
    uint64_t t = uint64_t(s + 0.5);
    if (t >= 3600)
      std::snprintf(buf, sizeof buf, "%llu:%02llu:%02llu", (unsigned long long)(t / 3600),
                    (unsigned long long)(t / 60 % 60), (unsigned long long)(t % 60));
    else
      std::snprintf(buf, sizeof buf, "%llu:%02llu", (unsigned long long)(t / 60),
                    (unsigned long long)(t % 60));
  }
  return buf;
}

std::string format_time_micros(uint64_t micros) {
  time_t secs = time_t(micros / 1000000);
  struct tm tm;
  gmtime_r(&secs, &tm);
  char buf[80];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02d %02d:%02d:%02d.%06llu UTC", tm.tm_year + 1900, tm.tm_mon + 1,
                tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (unsigned long long)(micros % 1000000));
  return buf;
}

}  // namespace cli
}  // namespace h5tx
