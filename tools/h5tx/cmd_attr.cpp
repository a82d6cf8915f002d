// `h5tx attr get|set|delete|list HOME FILE:/object [NAME]`: the attributes
// of a file's root group, a group or a dataset, through the Transaction
// attribute API (get_attribute, list_attributes, set_attribute,
// delete_attribute). Reads see the last commit, flushed or not; set and
// delete are one transaction each.
#include <cerrno>
#include <cinttypes>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <limits>

#include "commands.hpp"
#include "util/names.hpp"

namespace h5tx {
namespace cli {

namespace {

// FILE:/object, where /object may be "/" (the file's root group).
Target parse_object(const std::string& s) {
  size_t colon = s.find(':');
  if (colon != std::string::npos && s.compare(colon, std::string::npos, ":/") == 0) {
    Target t = parse_target(s.substr(0, colon) + ":/x");  // checks the file name
    t.path = "/";
    return t;
  }
  return parse_target(s);
}

// Parses one number of --value for dtype t into 8 bytes at `out`.
void parse_element(const std::string& text, DType t, uint8_t* out) {
  char* end = nullptr;
  errno = 0;
  const bool is_float = t == DType::F32 || t == DType::F64;
  auto bad = [&](const char* why) {
    throw UsageError("--value '" + text + "' is not " + why + " (--dtype " + dtype_name(t) + ")");
  };
  if (text.empty()) bad("a number");
  if (is_float) {
    double v = std::strtod(text.c_str(), &end);
    if (*end != '\0' || errno == ERANGE) bad("a number");
    if (t == DType::F32) {
      float f = float(v);
      std::memcpy(out, &f, 4);
    } else {
      std::memcpy(out, &v, 8);
    }
    return;
  }
  const bool is_signed = t == DType::I8 || t == DType::I16 || t == DType::I32 || t == DType::I64;
  const size_t size = dtype_size(t);
  if (is_signed) {
    long long v = std::strtoll(text.c_str(), &end, 10);
    const long long lo = size == 8 ? std::numeric_limits<long long>::min() : -(1LL << (size * 8 - 1));
    const long long hi = size == 8 ? std::numeric_limits<long long>::max() : (1LL << (size * 8 - 1)) - 1;
    if (*end != '\0' || errno == ERANGE || v < lo || v > hi) bad("an integer the dtype holds");
    std::memcpy(out, &v, size);  // little-endian: the low bytes
  } else {
    if (text[0] == '-') bad("an integer the dtype holds");
    unsigned long long v = std::strtoull(text.c_str(), &end, 10);
    if (*end != '\0' || errno == ERANGE || (size < 8 && v >> (size * 8) != 0))
      bad("an integer the dtype holds");
    std::memcpy(out, &v, size);
  }
}

// --value and --dtype: "string" (default) or a number dtype; numbers are
// comma-separated for a 1-D attribute.
AttributeValue parse_value(const Args& a) {
  if (!a.has("value")) throw UsageError("attr set needs --value VALUE");
  const std::string text = a.get("value");
  const std::string dt = a.get("dtype", "string");
  if (dt == "string") return AttributeValue::string(text);
  AttributeValue v;
  v.dtype = parse_dtype_arg(dt);
  const size_t es = dtype_size(v.dtype);
  size_t begin = 0;
  while (true) {
    size_t comma = text.find(',', begin);
    std::string part = text.substr(begin, comma == std::string::npos ? std::string::npos : comma - begin);
    uint8_t buf[8] = {0};
    parse_element(part, v.dtype, buf);
    v.bytes.insert(v.bytes.end(), buf, buf + es);
    if (comma == std::string::npos) break;
    begin = comma + 1;
  }
  return v;
}

// `get`: a string as is, numbers comma-separated (what --value takes).
std::string plain_value(const AttributeValue& v) {
  if (v.is_string) return v.text;
  std::string out;
  const size_t es = dtype_size(v.dtype);
  for (size_t i = 0; i < v.count(); i++) {
    if (i) out += ',';
    append_element_text(v.dtype, v.bytes.data() + i * es, &out);
  }
  return out;
}

int run_attr(const Args& a) {
  const std::string op = a.positional[0];
  if (op != "get" && op != "set" && op != "delete" && op != "list")
    throw UsageError("attr: '" + op + "' is not get, set, delete or list");
  const bool needs_name = op != "list";
  if (needs_name != (a.positional.size() == 4))
    throw UsageError(op == "list" ? "usage: h5tx attr list HOME FILE:/object"
                                  : "usage: h5tx attr " + op + " HOME FILE:/object NAME");
  if (op != "set" && (a.has("value") || a.has("dtype")))
    throw UsageError("--value and --dtype are for attr set");
  Args store_args = a;
  store_args.positional.erase(store_args.positional.begin());  // open_store reads positional[0]
  const Target t = parse_object(a.positional[2]);
  const std::string where = t.file + ":" + t.path;
  const std::string name = needs_name ? a.positional[3] : "";
  const bool write = op == "set" || op == "delete";
  AttributeValue value;
  if (op == "set") value = parse_value(a);
  std::unique_ptr<Store> s = open_store(store_args, !write);
  TxOptions txo;
  txo.read_only = !write;
  Transaction tx = s->begin(txo);
  if (op == "list") {
    for (const std::string& n : tx.list_attributes(t.file, t.path)) {
      std::string text;
      try {
        text = attribute_value_text(tx.get_attribute(t.file, t.path, n));
      } catch (const UnsupportedError& e) {
        text = "(" + e.detail() + ")";
      }
      std::printf("@%s = %s\n", names::printable(n).c_str(), text.c_str());
    }
  } else if (op == "get") {
    const AttributeValue v = tx.get_attribute(t.file, t.path, name);
    std::printf("%s\n", plain_value(v).c_str());
  } else {
    if (op == "set")
      tx.set_attribute(t.file, t.path, name, value);
    else
      tx.delete_attribute(t.file, t.path, name);
    tx.set_message("h5tx attr " + op + " " + where + " " + name);
    tx.commit();
    std::printf("%s %s @%s%s (txid %s)\n", op == "set" ? "set" : "deleted", where.c_str(),
                names::printable(name).c_str(),
                op == "set" ? (" = " + attribute_value_text(value)).c_str() : "", hex16(tx.txid()).c_str());
  }
  if (tx.active()) tx.abort();
  s->close();
  return 0;
}

}  // namespace

std::vector<Command> attr_commands() {
  return {
      {{"attr",
        "get|set|delete|list HOME FILE:/object [NAME] [--value VALUE --dtype DTYPE]",
        "Read or change the attributes of a file's root group (FILE:/), a group or a dataset.\n"
        "get prints the value (a string as is, numbers comma-separated); list prints @name = value\n"
        "lines; set and delete commit one transaction each.",
        {{"value", "VALUE", "attr set: the value (numbers comma-separated for a 1-D attribute)"},
         {"dtype", "DTYPE", "attr set: string (default), or u8..u64, i8..i64, f32, f64"},
         lock_timeout_option()},
        3,
        4},
       run_attr},
  };
}

}  // namespace cli
}  // namespace h5tx
