// `history` (switch a store's history on or off), `pack` (drop old
// history), and the --at TXID option of the reading commands (get, export):
// docs/user-guide.md, "History".
#include <algorithm>
#include <cinttypes>
#include <cstdio>

#include "commands.hpp"

namespace h5tx {
namespace cli {

namespace {

// "TXID as h5tx prints it": 1 to 16 hex digits.
uint64_t parse_txid_arg(const std::string& s, const char* what) {
  if (s.empty() || s.size() > 16 || s.find_first_not_of("0123456789abcdefABCDEF") != std::string::npos)
    throw UsageError(std::string(what) + " " + s + " is not a txid (hex, as h5tx prints it)");
  return std::stoull(s, nullptr, 16);
}

// "90" or "90s", "15m", "12h", "7d".
std::chrono::microseconds parse_age(const std::string& s) {
  size_t digits = std::min(s.find_first_not_of("0123456789"), s.size());
  if (digits == 0 || digits > 12)
    throw UsageError("--older-than " + s + " is not a duration (N, Ns, Nm, Nh or Nd)");
  std::string unit = digits == s.size() ? "s" : s.substr(digits);
  uint64_t n = std::stoull(s.substr(0, digits));
  uint64_t scale = unit == "s" ? 1 : unit == "m" ? 60 : unit == "h" ? 3600 : unit == "d" ? 86400 : 0;
  if (!scale || n > (uint64_t(1) << 40) / scale)
    throw UsageError("--older-than " + s + " is not a duration (N, Ns, Nm, Nh or Nd)");
  return std::chrono::microseconds(n * scale * 1000000);
}

int run_history(const Args& a) {
  const std::string& what = a.positional[0];
  if (what != "on" && what != "off") throw UsageError("history takes on or off, not '" + what + "'");
  Options o;
  o.history = what == "on";
  o.lock_timeout = a.get_seconds("lock-timeout", 0);
  std::unique_ptr<Store> s = Store::open(a.positional[1], o);
  StoreStats st = s->stats();
  s->close();
  if (st.history)
    std::printf("history is on for %s; reads as of txid %s and later are possible\n", a.positional[1].c_str(),
                hex16(st.history_oldest).c_str());
  else
    std::printf("history is off for %s (none kept)\n", a.positional[1].c_str());
  return 0;
}

int run_pack(const Args& a) {
  if (a.has("before") == a.has("older-than"))
    throw UsageError("pack needs exactly one of --before and --older-than");
  PackOptions p;
  if (a.has("before"))
    p.before = parse_txid_arg(a.get("before"), "--before");
  else
    p.older_than = parse_age(a.get("older-than"));
  PackStats r = Store::pack(a.positional[0], p);
  if (a.flags.count("json")) {
    std::printf("{\"oldest\": \"%s\", \"limit\": \"%s\", \"segments_removed\": %" PRIu64
                ", \"segments_rewritten\": %" PRIu64 ", \"bytes_removed\": %" PRIu64
                ", \"segments_kept\": %" PRIu64 ", \"bytes_kept\": %" PRIu64 "}\n",
                hex16(r.oldest).c_str(), hex16(r.limit).c_str(), r.segments_removed, r.segments_rewritten,
                r.bytes_removed, r.segments_kept, r.bytes_kept);
    return 0;
  }
  std::printf("packed %s: removed %" PRIu64 " history segments and rewrote %" PRIu64
              " (%s dropped), kept %" PRIu64 " (%s); reads as of txid %s and later are possible\n",
              a.positional[0].c_str(), r.segments_removed, r.segments_rewritten,
              format_bytes(double(r.bytes_removed)).c_str(), r.segments_kept,
              format_bytes(double(r.bytes_kept)).c_str(), hex16(r.oldest).c_str());
  if (r.limit < r.oldest)
    std::printf("kept history back to txid %s for an open as-of reader\n", hex16(r.limit).c_str());
  return 0;
}

}  // namespace

OptionSpec at_option() {
  return {"at", "TXID", "read the store as it was when TXID committed (a store with history)"};
}

TxOptions read_tx_options(const Args& a) {
  TxOptions t = read_only_tx();
  if (a.has("at")) t.as_of = parse_txid_arg(a.get("at"), "--at");
  return t;
}

std::vector<Command> history_commands() {
  return {
      {{"history",
        "on|off HOME",
        "Switch the store's history on or off (a redo store, opened read-write: no writer may\n"
        "be running). on: from now on the flusher keeps every version it replaces, so reads\n"
        "as of any later txid work (get --at, export --at); off: deletes all history.",
        {lock_timeout_option()},
        2,
        2},
       run_history},
      {{"pack",
        "HOME (--before TXID | --older-than AGE)",
        "Drop history that only reads as of older txids need: before TXID, or before the\n"
        "newest txid committed more than AGE ago (N, Ns, Nm, Nh, Nd). Runs beside a writer and\n"
        "readers; keeps what an open as-of read or a retention slot (HOME/slots/) needs.",
        {{"before", "TXID", "keep reads as of TXID and later"},
         {"older-than", "AGE", "keep reads as of the state AGE ago and later"},
         json_option()},
        1,
        1},
       run_pack},
  };
}

}  // namespace cli
}  // namespace h5tx
