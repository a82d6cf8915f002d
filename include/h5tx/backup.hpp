// Online backup, restore and replication of redo-mode stores
// (docs/user-guide.md "Backup, restore and replication";
// formats/tx-stream.md). Everything here works on store directories by
// path, next to a live writer process of the source store: a backup
// registers a snapshot in HOME/procs/ like a reader process, and never
// takes the source's LOCK.
//
// Ownership: plain functions; nothing is kept between calls but files.
// Thread-safety: each call is independent; two calls on one destination
// exclude each other through its LOCK (BusyError). Errors: every function
// throws an h5tx::Error subclass naming the path (a damaged stream:
// CorruptionError naming the stream and the txid); UnsupportedError for
// undo-mode stores.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "h5tx/export.hpp"
#include "h5tx/options.hpp"

namespace h5tx {

struct BackupOptions {
  // The retention slot (HOME/slots/<name>) that makes the next
  // incremental possible: created or advanced to the backup's txid.
  std::string slot = "backup";
  bool no_slot = false;  // full backup only: leave the slots as they are
  // env, lock_timeout (for the destination); read_only is ignored.
  Options store;
};

struct BackupResult {
  uint64_t from = 0;          // the destination's txid before (incremental: the slot's)
  uint64_t txid = 0;          // the txid the destination now holds the source as of
  uint64_t transactions = 0;  // transactions copied or applied
  uint64_t bytes = 0;         // bytes of transactions written (streams) or copied (data files too)
};

// Full backup of HOME into DEST (missing or an empty directory), online and
// transaction-consistent: DEST ends as a store equal to HOME as of one
// committed txid (result.txid), its data files flushed. DEST/POSITION holds
// that txid; a store without it is an unfinished backup.
H5TX_EXPORT BackupResult backup(const std::string& home, const std::string& dest,
                                const BackupOptions& options = {});
// Incremental backup: writes the transactions committed after the slot's
// txid as a stream file (must not exist), then advances the slot.
// NotFoundError if the slot does not exist (make one with a full backup).
H5TX_EXPORT BackupResult backup_incremental(const std::string& home, const std::string& stream_file,
                                            const BackupOptions& options = {});

// Full backup as a stream (formats/tx-stream.md, "Full streams"): the same
// snapshot as backup(), written as one self-contained, checksummed file
// (must not exist; removed again if the backup fails) or to `fd` (a pipe:
// `h5tx backup --stream HOME -`). The slot moves once the stream is whole
// (and, for a file, synced). restore() takes it as its full backup.
H5TX_EXPORT BackupResult backup_stream(const std::string& home, const std::string& stream_file,
                                       const BackupOptions& options = {});
H5TX_EXPORT BackupResult backup_stream_to_fd(const std::string& home, int fd,
                                             const BackupOptions& options = {});

struct RestoreOptions {
  uint64_t to = 0;  // stop after this txid (0: everything the streams hold)
  Options store;
};
// Rebuilds a store at DEST (missing or empty) from a full backup (a
// directory, or a full stream file) and incremental streams in order. Every
// stream is read and checked whole before DEST is made (a full stream is
// then read a second time, checked again, to write DEST: damaged between
// the two reads, DEST is left without POSITION, unfinished); a stream that does not continue where the
// previous one (or the full backup) ends is refused.
H5TX_EXPORT BackupResult restore(const std::string& dest, const std::string& full,
                                 const std::vector<std::string>& incrementals,
                                 const RestoreOptions& options = {});

struct ReplicateOptions {
  std::string slot = "replica";
  bool follow = false;
  // Following: called between polls; returning false ends the follow.
  std::function<bool()> keep_going;
  unsigned poll_ms = 20;
  // replicate_to_fd: a file descriptor (a FIFO, a pipe) the receiver's
  // acknowledgements come from (formats/tx-stream.md, "Acknowledgements"),
  // read without blocking after each poll: the slot moves to the newest
  // one, never past what was sent. -1: none (the slot stays at `since`).
  int ack_fd = -1;
  Options store;  // env, lock_timeout for the replica
};
// Brings REPLICA up to HOME: made by a full backup (marked a replica: HOME/
// REPLICA) if it does not exist, then every transaction committed after its
// position applied in txid order; with follow, keeps doing so until
// keep_going() returns false. The replica opens read-only meanwhile; a
// read-write open is refused until promote().
H5TX_EXPORT BackupResult replicate(const std::string& home, const std::string& replica,
                                   const ReplicateOptions& options = {});
// The sending half over a pipe: writes to `fd` a stream of the transactions
// after `since` (a replica's position; must be at or after the slot's txid;
// the slot is advanced to it), following with options.follow.
H5TX_EXPORT BackupResult replicate_to_fd(const std::string& home, int fd, uint64_t since,
                                         const ReplicateOptions& options = {});
// The receiving half: applies the stream read from `fd` to REPLICA (which
// must exist: made by replicate or backup), each transaction once it is
// whole and checked. `ack_fd` >= 0: an acknowledgement of the replica's
// position is written there at the start and after each transaction
// applied (its POSITION durable), for the sender's ack_fd.
H5TX_EXPORT BackupResult replicate_from_fd(int fd, const std::string& replica, const Options& options = {},
                                           int ack_fd = -1);
// Makes a replica an ordinary writable store (removes REPLICA). BusyError
// while a follower holds it.
H5TX_EXPORT void promote(const std::string& replica, const Options& options = {});
// The newest txid a backup, restored store or replica holds from its
// source (HOME/POSITION); NotFoundError if it has none.
H5TX_EXPORT uint64_t position(const std::string& store, const Options& options = {});

struct SlotInfo {
  std::string name;
  uint64_t txid = 0;
  bool damaged = false;       // unreadable: counts as txid 0
  uint64_t pinned_bytes = 0;  // bytes of archived transactions newer than it
};
H5TX_EXPORT std::vector<SlotInfo> list_slots(const std::string& home, const Options& options = {});
// Removes a slot (NotFoundError if missing) and the archived transactions no
// slot needs any more.
H5TX_EXPORT void drop_slot(const std::string& home, const std::string& name, const Options& options = {});

}  // namespace h5tx
