// The --json output of h5tx commands (schema: docs/cli-json.md): a small
// streaming writer of one JSON value. Strings are escaped (control
// characters, and bytes that are not valid UTF-8 as \u00XX, so any name
// stays valid JSON); non-finite numbers are written as the strings "nan",
// "inf", "-inf" (JSON has no such numbers).
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "h5tx/types.hpp"

namespace h5tx {
namespace cli {

class Json {
 public:
  Json& begin_object();
  Json& end_object();
  Json& begin_array();
  Json& end_array();
  Json& key(const std::string& k);  // inside an object, before its value

  Json& value(const std::string& s);
  Json& value(const char* s) { return value(std::string(s)); }
  Json& value(uint64_t v);
  Json& value(int64_t v);
  Json& value(unsigned v) { return value(uint64_t(v)); }
  Json& value(int v) { return value(int64_t(v)); }
  Json& value(double v);
  Json& value(bool v);
  Json& null();
  Json& shape(const Shape& s);  // array of numbers, null for kUnlimited
  Json& strings(const std::vector<std::string>& v);
  Json& string_map(const std::map<std::string, std::string>& m);
  // One dtype element at p (little-endian) as a number.
  Json& element(DType t, const uint8_t* p);

  template <class T>
  Json& field(const std::string& k, const T& v) {
    key(k);
    return value(v);
  }

  const std::string& text() const { return out_; }
  // Writes the value and a newline to stdout.
  void print() const;

 private:
  void before_value();
  std::string out_;
  std::vector<bool> first_;  // per open container: nothing written in it yet
  bool after_key_ = false;
};

std::string json_escape(const std::string& s);  // with the quotes

}  // namespace cli
}  // namespace h5tx
