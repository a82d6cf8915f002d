// Retention slots and the archive of flushed transactions
// (formats/tx-stream.md, "Retention"). A slot, HOME/slots/<name>, is one
// line "h5tx-slot 1 txid <16 hex>\n": an incremental backup or a replica
// that has every transaction up to that txid and needs every later one.
// While any slot exists, a flushed transaction directory newer than the
// oldest slot is not recycled or deleted: it is moved, whole, to
// HOME/archive/working_<txid>_flushed/ (the flusher's retire step, and
// recovery for the _flushed directories it would delete). Archived
// directories at or below the oldest slot (all of them once no slot is
// left) are removed by prune_archive.
//
// Thread-safety: free functions over files; safe from any thread and any
// process (slots are written atomically; the archive only grows by renames
// of directories newer than the oldest slot and shrinks by prune_archive of
// ones at or below it). Errors: the Env's (IoError...), CorruptionError /
// InvalidArgumentError as documented per function.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "h5tx/env.hpp"

namespace h5tx {
namespace retention {

constexpr const char* kSlotsDir = "slots";
constexpr const char* kArchiveDir = "archive";

// "h5tx-slot 1 txid <16 lowercase hex>\n" (34 bytes).
std::string encode_slot(uint64_t txid);
// False unless `text` is exactly that, with a txid in 0..kMaxTxid.
bool decode_slot(const std::string& text, uint64_t* txid);
// "" if `name` may name a slot: 1..64 characters of [A-Za-z0-9_-], not
// starting with '-' (no '.': "<name>.tmp" is the atomic write's scratch
// file); else what is wrong.
std::string slot_name_problem(const std::string& name);

struct Slot {
  uint64_t txid = 0;
  bool damaged = false;  // not a slot line: counts as txid 0 (pins everything)
};
// Every slot of HOME (empty if HOME/slots does not exist). Scratch files
// (*.tmp) are ignored.
std::map<std::string, Slot> read_slots(Env& env, const std::string& home);
// The oldest slot's txid; false if there is no slot.
bool oldest_slot(Env& env, const std::string& home, uint64_t* txid);
// Creates or moves slot `name` to `txid` atomically (tmp, fsync, rename,
// fsync slots/; slots/ is made and HOME synced on first use).
// InvalidArgumentError for a bad name.
void write_slot(Env& env, const std::string& home, const std::string& name, uint64_t txid);
// Removes slot `name` (NotFoundError if missing) and syncs slots/.
void drop_slot(Env& env, const std::string& home, const std::string& name);

// HOME/archive/working_<txid>_flushed.
std::string archive_path(const std::string& home, uint64_t txid);
// The archived txids, ascending (empty if there is no archive). Entries of
// other names are ignored (never removed).
std::vector<uint64_t> list_archive(Env& env, const std::string& home);
// Bytes of the archived directories newer than `txid` (sizes of their files).
uint64_t archived_bytes_after(Env& env, const std::string& home, uint64_t txid);

// The retire step: if a slot is older than `txid`, moves the flushed
// directory `dir` (journal/working_<txid>_flushed, its rename durable) to
// the archive, durably (fsync archive/, then journal/), and returns true;
// else returns false and leaves it (the caller recycles or deletes it).
bool archive_if_pinned(Env& env, const std::string& home, const std::string& dir, uint64_t txid);
// Removes archived directories at or below the oldest slot (every one if no
// slot is left). Returns how many.
size_t prune_archive(Env& env, const std::string& home);

}  // namespace retention
}  // namespace h5tx
