// Packing history (flush/history_pack.hpp).
#include "flush/history_pack.hpp"

#include <algorithm>

#include "flush/procs.hpp"
#include "flush/retention.hpp"
#include "h5tx/error.hpp"
#include "journal/history_segment.hpp"
#include "journal/tx_dir.hpp"

namespace h5tx {

namespace {

constexpr const char* kPackLock = "PACK";

// The segment at `path` without the versions replaced at or before
// `limit` (only reads as of txids below it could use them), and without
// its transactions at or below it: written as a new file named by its new
// first txid, durable (SegmentWriter syncs it and history/) before the
// caller removes the old one. "" if it holds no such version.
std::string rewrite_after(Env& env, const std::string& dir, const std::string& path, uint64_t limit) {
  journal::HistorySegment seg = journal::read_segment(env, path);
  if (std::none_of(seg.records.begin(), seg.records.end(),
                   [&](const journal::HistoryRecord& r) { return r.to_txid <= limit; }))
    return "";
  journal::HistorySegment out;
  for (const auto& t : seg.txs)
    if (t.txid > limit) out.txs.push_back(t);
  out.first_txid = out.txs.empty() ? limit + 1 : out.txs.front().txid;
  out.last_txid = seg.last_txid;
  journal::SegmentWriter w(env, dir);
  for (const auto& r : seg.records) {
    if (r.to_txid <= limit) continue;
    journal::HistoryRecord k = r;
    if (r.present && r.op.kind == journal::OpKind::WriteChunk)
      w.add_chunk(journal::read_segment_chunk(env, path, r.op), &k.op);
    out.records.push_back(std::move(k));
  }
  return w.finish(out);
}

}  // namespace

uint64_t oldest_slot(Env& env, const std::string& home) {
  uint64_t oldest = ~uint64_t(0);
  for (const auto& kv : retention::read_slots(env, home)) {
    if (kv.second.damaged)
      throw CorruptionError(path_join(path_join(home, retention::kSlotsDir), kv.first),
                            "not a retention slot file ('h5tx-slot 1 txid <16 hex>'): pack refuses to guess");
    oldest = std::min(oldest, kv.second.txid);
  }
  return oldest;
}

PackResult pack_history(Env& env, const std::string& home, uint64_t before) {
  const std::string dir = path_join(home, journal::kHistoryDirName);
  if (!env.is_directory(dir)) throw InvalidArgumentError(home, "store has no history (h5tx history on HOME)");
  auto lock = env.lock_file(path_join(dir, kPackLock), LockKind::Exclusive, std::chrono::milliseconds(10000));
  PackResult res;
  const std::string oldest_path = path_join(dir, journal::kHistoryOldestName);
  uint64_t oldest = journal::decode_oldest(env.read_all(oldest_path, 4096), oldest_path);
  // Never past the newest recorded txid (nor the current OLDEST): that
  // is the newest the history knows to be committed.
  uint64_t newest = oldest;
  for (const std::string& name : env.list_dir(dir)) {
    uint64_t first = 0, last = 0;
    if (journal::parse_segment_name(name, &first, &last)) newest = std::max(newest, last);
  }
  // A slot pins everything newer than its txid: reads as of it stay possible.
  uint64_t target = std::min({before, newest, oldest_slot(env, home)});
  if (target > oldest) {
    env.write_file_atomic(oldest_path, journal::encode_oldest(target));
    oldest = target;
  }
  res.oldest = oldest;
  // After OLDEST is durable: an as-of reader registering from now on reads
  // it and is refused below it; one registered before shows here.
  uint64_t pinned =
      procs::oldest_registered(&env, path_join(home, procs::kDirName), nullptr, procs::kAsOfPrefix);
  res.limit = std::min(oldest, pinned);
  bool removed = false;
  for (const std::string& name : env.list_dir(dir)) {
    uint64_t first = 0, last = 0;
    if (!journal::parse_segment_name(name, &first, &last)) continue;
    const std::string path = path_join(dir, name);
    uint64_t size = env.file_size(path);
    // Every version of the segment was replaced at or before `last`: only
    // reads as of txids below `last` can need it.
    if (last <= res.limit) {
      env.remove_file(path);
      removed = true;
      res.segments_removed++;
      res.bytes_removed += size;
      continue;
    }
    // Straddling the limit: rewritten with only the versions replaced
    // after it (a crash between the two steps leaves both files, holding
    // the same versions after the limit; the next pack removes the old one).
    const std::string rewritten = first <= res.limit ? rewrite_after(env, dir, path, res.limit) : "";
    if (!rewritten.empty() && rewritten != path) {
      const uint64_t new_size = env.file_size(rewritten);
      env.remove_file(path);
      removed = true;
      res.segments_rewritten++;
      res.bytes_removed += size - std::min(size, new_size);
      size = new_size;
    }
    res.segments_kept++;
    res.bytes_kept += size;
  }
  if (removed) env.sync_dir(dir);
  return res;
}

HistoryUsage history_usage(Env& env, const std::string& history_dir) {
  HistoryUsage u;
  const std::string oldest_path = path_join(history_dir, journal::kHistoryOldestName);
  u.oldest = journal::decode_oldest(env.read_all(oldest_path, 4096), oldest_path);
  for (const std::string& name : env.list_dir(history_dir)) {
    uint64_t first = 0, last = 0;
    if (!journal::parse_segment_name(name, &first, &last)) continue;
    try {
      u.bytes += env.file_size(path_join(history_dir, name));
      u.segments++;
    } catch (const Error&) {
      // removed by a pack meanwhile
    }
  }
  return u;
}

uint64_t newest_txid_before(Env& env, const std::string& history_dir, uint64_t cutoff_micros) {
  uint64_t best = 0;
  for (const std::string& name : env.list_dir(history_dir)) {
    uint64_t first = 0, last = 0;
    if (!journal::parse_segment_name(name, &first, &last) || last <= best) continue;
    journal::HistorySegment seg = journal::read_segment(env, path_join(history_dir, name));
    for (const auto& t : seg.txs)
      if (t.commit_time_micros < cutoff_micros) best = std::max(best, t.txid);
  }
  return best;
}

}  // namespace h5tx
