// JSON output (see json.hpp).
#include "json.hpp"

#include <cmath>
#include <cstdio>
#include <cstring>

namespace h5tx {
namespace cli {

namespace {

// Length of the valid UTF-8 sequence at s[i], 0 if it is not one.
size_t utf8_len(const std::string& s, size_t i) {
  const unsigned char c = static_cast<unsigned char>(s[i]);
  size_t n = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
  if (n == 0 || i + n > s.size()) return 0;
  for (size_t k = 1; k < n; k++)
    if ((static_cast<unsigned char>(s[i + k]) >> 6) != 2) return 0;
  if (n == 2 && c < 0xc2) return 0;  // overlong
  return n;
}

}  // namespace

std::string json_escape(const std::string& s) {
  std::string out = "\"";
  for (size_t i = 0; i < s.size();) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += char(c);
      i++;
    } else if (c == '\n') {
      out += "\\n";
      i++;
    } else if (c == '\t') {
      out += "\\t";
      i++;
    } else if (c < 0x20 || c == 0x7f) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\u%04x", c);
      out += buf;
      i++;
    } else if (size_t n = utf8_len(s, i)) {
      out.append(s, i, n);
      i += n;
    } else {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\u%04x", c);  // a byte that is not UTF-8: as Latin-1
      out += buf;
      i++;
    }
  }
  return out + "\"";
}

void Json::before_value() {
  if (after_key_) {
    after_key_ = false;
    return;
  }
  if (!first_.empty()) {
    if (!first_.back()) out_ += ',';
    first_.back() = false;
  }
}

Json& Json::begin_object() {
  before_value();
  out_ += '{';
  first_.push_back(true);
  return *this;
}

Json& Json::end_object() {
  first_.pop_back();
  out_ += '}';
  return *this;
}

Json& Json::begin_array() {
  before_value();
  out_ += '[';
  first_.push_back(true);
  return *this;
}

Json& Json::end_array() {
  first_.pop_back();
  out_ += ']';
  return *this;
}

Json& Json::key(const std::string& k) {
  before_value();
  out_ += json_escape(k);
  out_ += ':';
  after_key_ = true;
  return *this;
}

Json& Json::value(const std::string& s) {
  before_value();
  out_ += json_escape(s);
  return *this;
}

Json& Json::value(uint64_t v) {
  before_value();
  out_ += std::to_string(v);
  return *this;
}

Json& Json::value(int64_t v) {
  before_value();
  out_ += std::to_string(v);
  return *this;
}

Json& Json::value(double v) {
  before_value();
  if (std::isnan(v)) {
    out_ += "\"nan\"";
  } else if (std::isinf(v)) {
    out_ += v > 0 ? "\"inf\"" : "\"-inf\"";
  } else {
    char buf[40];
    std::snprintf(buf, sizeof buf, "%.17g", v);
    out_ += buf;
  }
  return *this;
}

Json& Json::value(bool v) {
  before_value();
  out_ += v ? "true" : "false";
  return *this;
}

Json& Json::null() {
  before_value();
  out_ += "null";
  return *this;
}

Json& Json::shape(const Shape& s) {
  begin_array();
  for (uint64_t d : s) {
    if (d == kUnlimited)
      null();
    else
      value(d);
  }
  return end_array();
}

Json& Json::strings(const std::vector<std::string>& v) {
  begin_array();
  for (const std::string& s : v) value(s);
  return end_array();
}

Json& Json::string_map(const std::map<std::string, std::string>& m) {
  begin_object();
  for (const auto& kv : m) field(kv.first, kv.second);
  return end_object();
}

Json& Json::element(DType t, const uint8_t* p) {
  auto get = [p](auto x) {
    std::memcpy(&x, p, sizeof x);
    return x;
  };
  switch (t) {
    case DType::U8:
      return value(uint64_t(get(uint8_t())));
    case DType::U16:
      return value(uint64_t(get(uint16_t())));
    case DType::U32:
      return value(uint64_t(get(uint32_t())));
    case DType::U64:
      return value(uint64_t(get(uint64_t())));
    case DType::I8:
      return value(int64_t(get(int8_t())));
    case DType::I16:
      return value(int64_t(get(int16_t())));
    case DType::I32:
      return value(int64_t(get(int32_t())));
    case DType::I64:
      return value(int64_t(get(int64_t())));
    case DType::F32:
      return value(double(get(float())));
    case DType::F64:
      return value(get(double()));
  }
  return null();
}

void Json::print() const {
  std::fwrite(out_.data(), 1, out_.size(), stdout);
  std::fputc('\n', stdout);
  std::fflush(stdout);
}

}  // namespace cli
}  // namespace h5tx
