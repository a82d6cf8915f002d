// Backup and replication commands: backup, restore, replicate, promote
// (include/h5tx/backup.hpp; docs/user-guide.md "Backup, restore and
// replication").
#include <fcntl.h>
#include <signal.h>

#include <atomic>
#include <cinttypes>
#include <cerrno>
#include <cstdio>
#include <cstring>

#include "commands.hpp"
#include "h5tx/backup.hpp"
#include "h5tx/error.hpp"
#include "journal/tx_dir.hpp"

namespace h5tx {
namespace cli {

namespace {

std::atomic<bool> g_stop{false};

void on_stop_signal(int) {
  g_stop = true;
}

// SIGINT/SIGTERM end a --follow between transactions (what was applied
// stays); SIGPIPE becomes EPIPE, an error naming the stream.
void install_signals() {
  struct sigaction sa = {};
  sa.sa_handler = on_stop_signal;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
  signal(SIGPIPE, SIG_IGN);
}

Options store_options(const Args& a) {
  Options o;
  o.lock_timeout = a.get_seconds("lock-timeout", 10);
  return o;
}

// 16 hex digits (as h5tx prints txids) or a decimal number; 0 where `zero_ok`.
uint64_t parse_txid(const Args& a, const std::string& name, bool zero_ok = false) {
  uint64_t t = 0;
  std::string v = a.get(name);
  if (journal::parse_txid_hex(v, &t)) return t;
  if (zero_ok && v == std::string(16, '0')) return 0;
  return a.get_uint(name, 0, zero_ok ? 0 : 1, journal::kMaxTxid);
}

void report(const char* what, const BackupResult& r) {
  std::fprintf(stderr, "h5tx: %s: txid %s (from %s), %" PRIu64 " transactions, %" PRIu64 " bytes\n", what,
               journal::txid_hex(r.txid).c_str(), journal::txid_hex(r.from).c_str(), r.transactions, r.bytes);
}

int run_backup(const Args& a) {
  BackupOptions o;
  o.store = store_options(a);
  o.slot = a.get("slot", "backup");
  if (a.has("drop-slot")) {
    if (a.positional.size() != 1) throw UsageError("backup --drop-slot NAME takes HOME only");
    drop_slot(a.positional[0], a.get("drop-slot"), o.store);
    return 0;
  }
  if (a.positional.size() != 2) throw UsageError("backup takes HOME and DEST");
  if (a.has("incremental") && a.has("stream"))
    throw UsageError("--incremental and --stream exclude each other");
  if (a.has("incremental")) {
    if (a.has("no-slot")) throw UsageError("--incremental needs its slot; --no-slot is for full backups");
    BackupResult r = backup_incremental(a.positional[0], a.positional[1], o);
    report("incremental backup", r);
    std::printf("%s\n", journal::txid_hex(r.txid).c_str());
    return 0;
  }
  o.no_slot = a.has("no-slot");
  if (a.has("stream")) {
    install_signals();  // SIGPIPE: an error naming the stream, not a silent death
    BackupResult r = a.positional[1] == "-" ? backup_stream_to_fd(a.positional[0], 1, o)
                                            : backup_stream(a.positional[0], a.positional[1], o);
    report("full backup stream", r);
    if (a.positional[1] != "-") std::printf("%s\n", journal::txid_hex(r.txid).c_str());
    return 0;
  }
  BackupResult r = backup(a.positional[0], a.positional[1], o);
  report("full backup", r);
  std::printf("%s\n", journal::txid_hex(r.txid).c_str());
  return 0;
}

int run_restore(const Args& a) {
  RestoreOptions o;
  o.store = store_options(a);
  if (a.has("to")) o.to = parse_txid(a, "to");
  std::vector<std::string> incr(a.positional.begin() + 2, a.positional.end());
  BackupResult r = restore(a.positional[0], a.positional[1], incr, o);
  report("restore", r);
  std::printf("%s\n", journal::txid_hex(r.txid).c_str());
  return 0;
}

int run_replicate(const Args& a) {
  install_signals();
  ReplicateOptions o;
  o.store = store_options(a);
  o.slot = a.get("slot", "replica");
  o.follow = a.has("follow");
  o.poll_ms = unsigned(a.get_uint("poll-ms", 20, 1, 60000));
  o.keep_going = [] { return !g_stop.load(); };
  if (a.has("drop-slot")) {
    if (a.positional.size() != 1) throw UsageError("replicate --drop-slot NAME takes HOME only");
    drop_slot(a.positional[0], a.get("drop-slot"), o.store);
    return 0;
  }
  if (a.has("position")) {
    if (a.positional.size() != 1) throw UsageError("replicate --position takes REPLICA only");
    std::printf("%s\n", journal::txid_hex(position(a.positional[0], o.store)).c_str());
    return 0;
  }
  if (a.has("from")) {
    if (a.get("from") != "-") throw UsageError("--from takes '-' (standard input)");
    if (a.positional.size() != 1) throw UsageError("replicate --from - takes REPLICA only");
    int ack = -1;
    if (a.has("ack-to")) {
      const std::string f = a.get("ack-to");
      ack = f == "-" ? 1 : ::open(f.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
      if (ack < 0)
        throw IoError(f, std::string("cannot open for acknowledgements: ") + std::strerror(errno), errno);
    }
    BackupResult r = replicate_from_fd(0, a.positional[0], o.store, ack);
    report("replicate --from -", r);
    return 0;
  }
  if (a.has("to")) {
    if (a.get("to") != "-") throw UsageError("--to takes '-' (standard output)");
    if (a.positional.size() != 1) throw UsageError("replicate --to - takes HOME only");
    uint64_t since = 0;
    if (a.has("since")) {
      since = parse_txid(a, "since", true);
    } else {
      for (const SlotInfo& s : list_slots(a.positional[0], o.store))
        if (s.name == o.slot) since = s.txid;
    }
    if (a.has("ack-from")) {
      const std::string f = a.get("ack-from");
      o.ack_fd = ::open(f.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
      if (o.ack_fd < 0)
        throw IoError(f, std::string("cannot open for acknowledgements: ") + std::strerror(errno), errno);
    }
    BackupResult r = replicate_to_fd(a.positional[0], 1, since, o);
    report("replicate --to -", r);
    return 0;
  }
  if (a.positional.size() != 2) throw UsageError("replicate takes HOME and REPLICA");
  BackupResult r = replicate(a.positional[0], a.positional[1], o);
  report("replicate", r);
  return 0;
}

int run_promote(const Args& a) {
  promote(a.positional[0], store_options(a));
  return 0;
}

}  // namespace

std::vector<Command> backup_commands() {
  OptionSpec lt = lock_timeout_option();
  return {
      {{"backup",
        "HOME DEST | --stream HOME FILE|- | --incremental HOME STREAM | HOME --drop-slot NAME",
        "Online, transaction-consistent backup of a redo-mode store while writers run. Full:\n"
        "DEST (a new directory) becomes a store equal to HOME as of one committed txid (printed),\n"
        "and the retention slot (--slot, default 'backup') moves to that txid. --stream writes\n"
        "the same full backup as one checksummed stream file FILE (new), or to standard output\n"
        "with '-' (the txid is then on standard error only); h5tx restore takes it. --incremental\n"
        "writes the transactions committed since the slot's txid to the new stream file STREAM\n"
        "(formats/tx-stream.md) and moves the slot. While a slot exists, flushed transactions\n"
        "newer than it are kept in HOME/archive/ (h5tx stats shows what each slot pins).",
        {{"incremental", "", "write a stream of the transactions since the slot's txid"},
         {"stream", "", "full backup as a stream file (or '-': standard output)"},
         {"slot", "NAME", "the retention slot to create or advance (default 'backup')"},
         {"no-slot", "", "full backup without a slot"},
         {"drop-slot", "NAME", "remove a retention slot (and what only it kept)"},
         lt},
        1,
        2},
       run_backup},
      {{"restore",
        "DEST FULL [INCREMENTAL...] [--to TXID]",
        "Rebuild a store in DEST (new) from a full backup (a directory, or a file written by\n"
        "backup --stream) and incremental streams, in\n"
        "order, up to the last transaction or --to TXID. Every stream is checked whole first; a\n"
        "damaged one is refused naming the transaction, a gap in the chain is refused.",
        {{"to", "TXID", "stop after this transaction (16 hex digits or decimal)"}, lt},
        2,
        1000},
       run_restore},
      {{"replicate",
        "HOME REPLICA [--follow] | HOME --to - [--since TXID] | --from - REPLICA",
        "Keep a replica of a redo-mode store: made by a full backup if REPLICA does not exist,\n"
        "then every transaction committed since its position applied in txid order, whole (a\n"
        "replica never holds half a transaction); --follow keeps going until SIGINT/SIGTERM.\n"
        "The replica opens read-only meanwhile; read-write opens are refused until h5tx promote.\n"
        "Through a pipe (e.g. ssh): h5tx replicate HOME --to - --since $(h5tx replicate\n"
        "--position REPLICA) | h5tx replicate --from - REPLICA. The slot then stays at --since\n"
        "(and keeps everything after it) until the sender restarts, unless the receiver's\n"
        "acknowledgements come back: ... --to - --follow --ack-from FIFO | ssh host h5tx replicate\n"
        "--from - REPLICA --ack-to - > FIFO (mkfifo FIFO first).",
        {{"follow", "", "keep applying transactions as they commit"},
         {"slot", "NAME", "the source's retention slot for this replica (default 'replica')"},
         {"to", "-", "write the stream to standard output"},
         {"since", "TXID", "with --to -: the replica's position (default: the slot's txid)"},
         {"from", "-", "apply a stream read from standard input to REPLICA"},
         {"position", "", "print the newest txid REPLICA holds"},
         {"poll-ms", "N", "--follow: look for new transactions every N ms (default 20)"},
         {"ack-from", "FILE", "with --to -: move the slot as the receiver acknowledges (a FIFO it writes)"},
         {"ack-to", "FILE",
          "with --from -: acknowledge each durable position to FILE ('-': standard output)"},
         {"drop-slot", "NAME", "remove a retention slot of HOME"},
         lt},
        1,
        2},
       run_replicate},
      {{"promote",
        "REPLICA",
        "Make a replica an ordinary writable store (its follower must have stopped).",
        {lt},
        1,
        1},
       run_promote},
  };
}

}  // namespace cli
}  // namespace h5tx
