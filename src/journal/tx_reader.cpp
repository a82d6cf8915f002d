// Reading and verifying redo transaction directories.
#include "journal/tx_reader.hpp"

#include <algorithm>
#include <set>

#include "h5tx/error.hpp"
#include "journal/tx_dir.hpp"

namespace h5tx {
namespace journal {

JournalListing list_journal(Env& env, const std::string& journal_dir) {
  JournalListing l;
  for (const Env::DirEntry& entry : env.list_dir_entries(journal_dir)) {
    const std::string& name = entry.name;
    uint64_t txid;
    TxState state;
    bool tx = parse_tx_dir_name(name, &txid, &state);
    bool undo = !tx && parse_undo_dir_name(name, &txid);
    // A name of ours that is not a real directory (a symlink, a FIFO, a
    // file) is not ours: never entered, never removed.
    if ((tx || undo) && !entry.directory) {
      l.other.push_back(name);
    } else if (tx) {
      (state == TxState::Temp ? l.temp : state == TxState::Done ? l.done : l.flushed).push_back(txid);
    } else if (undo) {
      l.undo.push_back(txid);
    } else {
      l.other.push_back(name);
    }
  }
  for (auto* v : {&l.temp, &l.done, &l.flushed, &l.undo}) std::sort(v->begin(), v->end());
  return l;
}

FlushedPlan plan_flushed(const JournalListing& l) {
  FlushedPlan p;
  uint64_t oldest_done = l.done.empty() ? UINT64_MAX : l.done.front();
  for (uint64_t t : l.flushed) (t > oldest_done ? p.reapply : p.garbage).push_back(t);
  return p;
}

Manifest read_manifest(Env& env, const std::string& tx_dir, uint64_t txid) {
  std::string path = path_join(tx_dir, kManifestName);
  if (!env.exists(path)) throw CorruptionError(path, "committed transaction has no MANIFEST");
  auto f = env.open(path, OpenMode::ReadOnly);
  uint64_t file_size = f->size();
  // Read the header, then exactly the record it announces (not the inline
  // chunk data after it). A bad header is read whole for the decoder to report.
  std::string record(std::min<uint64_t>(file_size, kManifestHeaderSize), '\0');
  record.resize(f->read(0, &record[0], record.size()));
  uint64_t total = manifest_record_size(record);
  uint64_t want = (total >= kManifestHeaderSize && total <= file_size) ? total : file_size;
  if (want > record.size()) {
    size_t have = record.size();
    record.resize(want);
    record.resize(have + f->read(have, &record[have], want - have));
  }
  Manifest m = decode_manifest_record(record, file_size, path);
  if (m.txid != txid)
    throw CorruptionError(
        path, "MANIFEST names txid " + txid_hex(m.txid) + " but its directory names " + txid_hex(txid));
  return m;
}

std::string read_chunk_file(Env& env, const std::string& tx_dir, const Op& op) {
  return read_chunk_file(env, tx_dir, op.chunk_file, op.chunk_offset, op.chunk_size, op.chunk_hash);
}

std::string read_chunk_file(Env& env, const std::string& tx_dir, const std::string& name, uint64_t offset,
                            uint64_t size, uint64_t hash) {
  std::string path = path_join(tx_dir, name);
  std::unique_ptr<File> f;
  try {
    f = env.open(path, OpenMode::ReadOnly);
  } catch (const NotFoundError&) {
    throw CorruptionError(path, "chunk file listed in the MANIFEST is missing");
  }
  // Bound by the real file before allocating: a MANIFEST is untrusted even
  // when its checksum holds.
  uint64_t file_size = f->size();
  if (offset > file_size || size > file_size - offset)
    throw CorruptionError(path, "chunk copy at offset " + std::to_string(offset) + " (" +
                                    std::to_string(size) + " bytes) extends past the end of the file (" +
                                    std::to_string(file_size) + " bytes)");
  std::string data(size, '\0');
  size_t got = size ? f->read(offset, &data[0], size) : 0;
  if (got != size)
    throw CorruptionError(path, "chunk copy at offset " + std::to_string(offset) + " has " +
                                    std::to_string(got) + " bytes, the MANIFEST says " +
                                    std::to_string(size));
  if (checksum(data.data(), data.size()) != hash)
    throw CorruptionError(path, name == kManifestName ? "checksum mismatch in the chunk copy at offset " +
                                                            std::to_string(offset)
                                                      : "chunk file checksum mismatch");
  return data;
}

Manifest verify_transaction(Env& env, const std::string& tx_dir, uint64_t txid) {
  Manifest m = read_manifest(env, tx_dir, txid);
  std::set<std::string> names;
  for (const auto& op : m.ops) {
    if (op.kind != OpKind::WriteChunk) continue;
    if (m.version == 1) {
      std::string path = path_join(tx_dir, op.chunk_file);
      if (!names.insert(op.chunk_file).second)
        throw CorruptionError(path_join(tx_dir, kManifestName),
                              "chunk file '" + op.chunk_file + "' listed twice");
      if (env.exists(path) && env.file_size(path) != op.chunk_size)
        throw CorruptionError(path, "chunk file has " + std::to_string(env.file_size(path)) +
                                        " bytes, the MANIFEST says " + std::to_string(op.chunk_size));
    }
    read_chunk_file(env, tx_dir, op);
  }
  return m;
}

}  // namespace journal
}  // namespace h5tx
