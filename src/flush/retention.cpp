// Retention slots and the archive (flush/retention.hpp, formats/tx-stream.md).
#include "flush/retention.hpp"

#include <cinttypes>
#include <cstdio>

#include "h5tx/error.hpp"
#include "journal/tx_dir.hpp"

namespace h5tx {
namespace retention {

namespace {

constexpr size_t kSlotSize = 34;  // "h5tx-slot 1 txid " (17) + 16 hex + "\n"
constexpr char kTmpSuffix[] = ".tmp";

std::string slots_dir(const std::string& home) {
  return path_join(home, kSlotsDir);
}

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

}  // namespace

std::string encode_slot(uint64_t txid) {
  char buf[kSlotSize + 1];
  std::snprintf(buf, sizeof buf, "h5tx-slot 1 txid %016" PRIx64 "\n", txid);
  return std::string(buf, kSlotSize);
}

bool decode_slot(const std::string& text, uint64_t* txid) {
  if (text.size() != kSlotSize || text.compare(0, 17, "h5tx-slot 1 txid ") != 0 || text[33] != '\n')
    return false;
  const std::string hex = text.substr(17, 16);
  if (hex == "0000000000000000") {
    *txid = 0;  // a slot made on an empty store
    return true;
  }
  return journal::parse_txid_hex(hex, txid);
}

std::string slot_name_problem(const std::string& name) {
  if (name.empty() || name.size() > 64) return "a slot name has 1 to 64 characters";
  if (name[0] == '-') return "a slot name may not begin with '-'";
  for (char c : name) {
    bool ok =
        (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
    if (!ok) return "a slot name is made of letters, digits, '_' and '-'";
  }
  return "";
}

std::map<std::string, Slot> read_slots(Env& env, const std::string& home) {
  std::map<std::string, Slot> out;
  const std::string dir = slots_dir(home);
  if (!env.is_directory(dir)) return out;
  for (const std::string& name : env.list_dir(dir)) {
    if (ends_with(name, kTmpSuffix)) continue;
    Slot s;
    std::string text;
    try {
      text = env.read_all(path_join(dir, name), 4096);
    } catch (const NotFoundError&) {
      continue;  // dropped while listed
    } catch (const IoError&) {
      text.clear();  // too large, or not a file: damaged
    }
    s.damaged = slot_name_problem(name) != "" || !decode_slot(text, &s.txid);
    if (s.damaged) s.txid = 0;
    out[name] = s;
  }
  return out;
}

bool oldest_slot(Env& env, const std::string& home, uint64_t* txid) {
  auto slots = read_slots(env, home);
  if (slots.empty()) return false;
  uint64_t oldest = ~uint64_t(0);
  for (const auto& kv : slots) oldest = std::min(oldest, kv.second.txid);
  *txid = oldest;
  return true;
}

void write_slot(Env& env, const std::string& home, const std::string& name, uint64_t txid) {
  std::string problem = slot_name_problem(name);
  if (!problem.empty()) throw InvalidArgumentError(name, "invalid slot name: " + problem);
  if (txid > journal::kMaxTxid) throw InvalidArgumentError(name, "slot txid out of range");
  const std::string dir = slots_dir(home);
  if (!env.is_directory(dir)) {
    env.create_dir_if_missing(dir);
    env.sync_dir(home);
  }
  env.write_file_atomic(path_join(dir, name), encode_slot(txid));
}

void drop_slot(Env& env, const std::string& home, const std::string& name) {
  std::string problem = slot_name_problem(name);
  if (!problem.empty()) throw InvalidArgumentError(name, "invalid slot name: " + problem);
  const std::string path = path_join(slots_dir(home), name);
  if (!env.exists(path)) throw NotFoundError(path, "no such retention slot");
  env.remove_file(path);
  env.sync_dir(slots_dir(home));
}

std::string archive_path(const std::string& home, uint64_t txid) {
  return path_join(path_join(home, kArchiveDir), journal::tx_dir_name(txid, journal::TxState::Flushed));
}

std::vector<uint64_t> list_archive(Env& env, const std::string& home) {
  std::vector<uint64_t> out;
  const std::string dir = path_join(home, kArchiveDir);
  if (!env.is_directory(dir)) return out;
  for (const std::string& name : env.list_dir(dir)) {
    uint64_t txid;
    journal::TxState st;
    if (journal::parse_tx_dir_name(name, &txid, &st) && st == journal::TxState::Flushed) out.push_back(txid);
  }
  return out;  // list_dir is sorted, and so are fixed-width hex names
}

uint64_t archived_bytes_after(Env& env, const std::string& home, uint64_t txid) {
  uint64_t bytes = 0;
  for (uint64_t t : list_archive(env, home)) {
    if (t <= txid) continue;
    const std::string d = archive_path(home, t);
    try {
      for (const std::string& f : env.list_dir(d)) bytes += env.file_size(path_join(d, f));
    } catch (const NotFoundError&) {
      // pruned while counted
    }
  }
  return bytes;
}

bool archive_if_pinned(Env& env, const std::string& home, const std::string& dir, uint64_t txid) {
  if (!env.is_directory(slots_dir(home))) return false;  // the common case: one stat
  uint64_t oldest;
  if (!oldest_slot(env, home, &oldest) || txid <= oldest) return false;
  const std::string adir = path_join(home, kArchiveDir);
  if (!env.is_directory(adir)) {
    env.create_dir_if_missing(adir);
    env.sync_dir(home);
  }
  env.rename(dir, archive_path(home, txid));
  env.sync_dir(adir);  // the new name first: a crash keeps it under one name, never none
  env.sync_dir(path_dirname(dir));
  return true;
}

size_t prune_archive(Env& env, const std::string& home) {
  std::vector<uint64_t> archived = list_archive(env, home);
  if (archived.empty()) return 0;
  uint64_t oldest = ~uint64_t(0);
  oldest_slot(env, home, &oldest);  // none: every archived directory goes
  size_t n = 0;
  for (uint64_t t : archived) {
    if (t > oldest) break;
    env.remove_flat_dir(archive_path(home, t));
    n++;
  }
  if (n) env.sync_dir(path_join(home, kArchiveDir));
  return n;
}

}  // namespace retention
}  // namespace h5tx
