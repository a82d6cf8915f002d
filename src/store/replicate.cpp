// Replication (include/h5tx/backup.hpp): a replica is a full backup marked
// HOME/REPLICA that an applier keeps up to date with the source's committed
// transactions, newer than its POSITION, in txid order. Locally (both
// stores visible), or through a pipe: a stream (journal/tx_stream.hpp)
// written by one process and applied by another.
#include <algorithm>
#include <chrono>
#include <memory>
#include <thread>

#include "flush/retention.hpp"
#include "h5tx/backup.hpp"
#include "h5tx/error.hpp"
#include "journal/tx_dir.hpp"
#include "journal/tx_stream.hpp"
#include "store/ack_channel.hpp"
#include "store/backup_internal.hpp"
#include "store/byte_streams.hpp"
#include "store/importer.hpp"
#include "store/layout.hpp"
#include "store/retained.hpp"

namespace h5tx {

namespace {

// The slot's txid; NotFoundError / CorruptionError naming it.
uint64_t slot_txid(Env& env, const std::string& home, const std::string& name) {
  std::string problem = retention::slot_name_problem(name);
  if (!problem.empty()) throw InvalidArgumentError(name, "invalid slot name: " + problem);
  auto slots = retention::read_slots(env, home);
  auto it = slots.find(name);
  const std::string path = path_join(path_join(home, retention::kSlotsDir), name);
  if (it == slots.end())
    throw NotFoundError(path, "no retention slot '" + name +
                                  "' (dropped?): the transactions the replica needs may be gone; make the "
                                  "replica again");
  if (it->second.damaged) throw CorruptionError(path, "retention slot is damaged (not a slot line)");
  return it->second.txid;
}

bool keep_going(const ReplicateOptions& o) {
  return !o.keep_going || o.keep_going();
}

void pause(const ReplicateOptions& o) {
  std::this_thread::sleep_for(std::chrono::milliseconds(o.poll_ms));
}

}  // namespace

BackupResult replicate(const std::string& home_arg, const std::string& replica_arg,
                       const ReplicateOptions& options) {
  Env& env = *backup_env(options.store);
  const std::string home = check_source(env, home_arg);
  BackupResult r;
  if (!env.exists(replica_arg) || (env.is_directory(replica_arg) && env.list_dir(replica_arg).empty())) {
    BackupOptions b;
    b.slot = options.slot;
    b.store = options.store;
    BackupResult full = backup_to_dir(home, replica_arg, b, /*replica=*/true);
    r.bytes = full.bytes;
  }
  Importer imp(replica_arg, options.store);
  if (!env.exists(path_join(imp.home(), Layout::kReplicaFile)))
    throw InvalidArgumentError(replica_arg,
                               "not a replica (no REPLICA file): h5tx replicate makes one in a new "
                               "directory");
  r.from = imp.position();
  for (;;) {
    const uint64_t slot = slot_txid(env, home, options.slot);
    if (imp.position() < slot)
      throw StateError(imp.home(), "the replica is at " + journal::txid_hex(imp.position()) +
                                       ", older than slot '" + options.slot + "' (" +
                                       journal::txid_hex(slot) +
                                       "): the transactions between may be gone; make the replica again");
    for (uint64_t t : retained_after(env, home, imp.position())) {
      journal::StreamTx tx = journal::decode_stream_tx(t, read_retained(env, home, t), home);
      if (imp.apply(tx)) {
        r.transactions++;
        r.bytes += tx.manifest_bytes.size();
      }
    }
    // The replica has them durably (its POSITION): the source may let go.
    if (imp.position() != slot) {
      retention::write_slot(env, home, options.slot, imp.position());
      retention::prune_archive(env, home);
    }
    if (!options.follow || !keep_going(options)) break;
    pause(options);
    if (!keep_going(options)) break;
  }
  r.txid = imp.position();
  imp.close();
  return r;
}

BackupResult replicate_to_fd(const std::string& home_arg, int fd, uint64_t since,
                             const ReplicateOptions& options) {
  Env& env = *backup_env(options.store);
  const std::string home = check_source(env, home_arg);
  const uint64_t slot = slot_txid(env, home, options.slot);
  if (since < slot)
    throw InvalidArgumentError(home, "the replica is at " + journal::txid_hex(since) + ", older than slot '" +
                                         options.slot + "' (" + journal::txid_hex(slot) +
                                         "): the transactions between may be gone; make the replica again");
  if (since > slot) {
    retention::write_slot(env, home, options.slot, since);
    retention::prune_archive(env, home);
  }
  BackupResult r;
  r.from = since;
  std::vector<uint64_t> txids = retained_after(env, home, since);
  const uint64_t to = options.follow ? journal::kStreamOpenEnd : (txids.empty() ? since : txids.back());
  FdSink sink(fd, "-");
  journal::StreamWriter w(&sink, since, to);
  uint64_t last = since;
  // The receiver's acknowledgements: the slot follows them, up to what was
  // sent (an acknowledgement past it cannot be of this stream; the
  // receiver holds at least what was sent then, so that much is safe).
  std::unique_ptr<AckReader> acks;
  if (options.ack_fd >= 0)
    acks = std::make_unique<AckReader>(options.ack_fd, "acknowledgements (--ack-from)");
  uint64_t slot_now = since;
  auto take_acks = [&] {
    uint64_t acked;
    if (!acks || !acks->poll(&acked)) return;
    acked = std::min(acked, last);
    if (acked <= slot_now) return;
    retention::write_slot(env, home, options.slot, acked);
    retention::prune_archive(env, home);
    slot_now = acked;
  };
  for (;;) {
    for (uint64_t t : txids) {
      w.add(t, read_retained(env, home, t));
      last = t;
    }
    sink.flush();
    take_acks();
    if (!options.follow || !keep_going(options)) break;
    pause(options);
    txids = retained_after(env, home, last);
  }
  w.finish(last);
  take_acks();
  r.transactions = w.count();
  r.bytes = w.bytes();
  r.txid = last;
  return r;
}

BackupResult replicate_from_fd(int fd, const std::string& replica, const Options& options, int ack_fd) {
  Importer imp(replica, options);
  BackupResult r;
  r.from = imp.position();
  FdSource src(fd, "-");
  journal::StreamReader reader(&src, "-");
  if (reader.from() > imp.position())
    throw InvalidArgumentError(imp.home(),
                               "the stream holds transactions after " + journal::txid_hex(reader.from()) +
                                   " but the replica is at " + journal::txid_hex(imp.position()) +
                                   ": the ones between would be missing (h5tx replicate HOME --to - "
                                   "--since " +
                                   journal::txid_hex(imp.position()) + ")");
  const std::string ack_name = "acknowledgements (--ack-to)";
  if (ack_fd >= 0) write_ack(ack_fd, imp.position(), ack_name);
  journal::StreamTx tx;
  while (reader.next(&tx)) {
    if (imp.apply(tx)) {
      r.transactions++;
      r.bytes += tx.manifest_bytes.size();
      if (ack_fd >= 0) write_ack(ack_fd, imp.position(), ack_name);  // POSITION is durable
    }
  }
  r.txid = imp.position();
  imp.close();
  return r;
}

void promote(const std::string& replica, const Options& options) {
  Env& env = *backup_env(options);
  Options o = options;
  o.read_only = false;
  std::unique_ptr<Layout> layout = Layout::open(&env, replica, o, /*applier=*/true);
  const std::string marker = path_join(layout->home(), Layout::kReplicaFile);
  if (!env.exists(marker)) throw InvalidArgumentError(layout->home(), "not a replica (no REPLICA file)");
  env.remove_file(marker);
  env.sync_dir(layout->home());
}

}  // namespace h5tx
