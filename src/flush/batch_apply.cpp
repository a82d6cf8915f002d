// Applying one flush batch of committed redo transactions to the HDF5 files.
#include "flush/batch_apply.hpp"

#include <cerrno>
#include <map>

#include "h5tx/error.hpp"
#include "hdf5/dataset_ops.hpp"
#include "journal/tx_dir.hpp"
#include "journal/tx_reader.hpp"
#include "undo/driver.hpp"

namespace h5tx {

using journal::Op;
using journal::OpKind;

namespace {

struct ChunkSource {
  const std::string* dir = nullptr;
  const Op* op = nullptr;
};

struct FilePlan {
  bool create = false;
  std::vector<const Op*> catalog;                               // in txid, then operation, order
  std::map<std::pair<std::string, Shape>, ChunkSource> chunks;  // newest copy of each chunk
};

void apply_catalog_op(hid_t h, const Op& op) {
  switch (op.kind) {
    case OpKind::CreateDataset:
      hdf5::create_dataset(h, op.path, op.spec);
      break;
    case OpKind::ExtendDataset:
      hdf5::extend_dataset(h, op.path, op.shape);
      break;
    case OpKind::SetAttribute:
      hdf5::set_attribute(h, op.path, op.name, op.attr);
      break;
    case OpKind::DeleteAttribute:
      hdf5::delete_attribute(h, op.path, op.name);  // already gone: replay of a delete
      break;
    default:
      break;
  }
}

void apply_file_locked(Env& env, DataFiles& files, const std::string& file, const FilePlan& plan,
                       const std::string& journal_path, BatchStats* stats) REQUIRES(files.mutex());

// Under the data gate (procs.hpp), if the store has one: reader processes
// are out of the data files while this one changes, and see a new
// generation afterwards. A reader keeping the gate past its timeout makes
// this a BusyError (EWOULDBLOCK): the batch's other files go on.
void apply_file(Env& env, DataFiles& files, const std::string& file, const FilePlan& plan,
                const std::string& journal_path, BatchStats* stats) {
  std::unique_ptr<procs::Gate::WriteHold> gate;
  if (files.gate()) gate = files.gate()->write(files.gate_timeout());
  MutexLock lock(files.mutex());
  try {
    apply_file_locked(env, files, file, plan, journal_path, stats);
  } catch (...) {
    if (gate) {
      try {
        gate->bump();  // the file may have changed and been reverted
      } catch (const Error&) {
      }
    }
    throw;
  }
  if (gate) gate->bump();
}

void apply_file_locked(Env& env, DataFiles& files, const std::string& file, const FilePlan& plan,
                       const std::string& journal_path, BatchStats* stats) {
  if (plan.create)
    files.create_file(file);
  else if (!files.exists(file))
    throw CorruptionError(files.path(file),
                          "a committed transaction writes to this data file but it does not exist");
  hdf5::Handle h = files.open_for_update(file);
  undo::tx_start(h, journal_path);
  try {
    for (const Op* op : plan.catalog) apply_catalog_op(h, *op);
    for (const auto& kv : plan.chunks) {
      const ChunkSource& src = kv.second;
      std::string bytes = journal::read_chunk_file(env, *src.dir, *src.op);
      hdf5::write_chunk(h, src.op->path, src.op->shape, src.op->filter_mask, bytes.data(), bytes.size());
      stats->chunks_written++;
      stats->bytes_written += bytes.size();
    }
    // Commit and close in one step: HDF5 still writes at H5Fclose (the
    // superblock's open-for-write flag), and those writes must stay under
    // the transaction, or an I/O error there fails the close and HDF5 1.10
    // crashes on the dangling file id at exit. The id is released even if
    // this throws; the journal then stays pending for the revert below.
    hdf5::Lock hl(hdf5::mutex());
    try {
      undo::close_commit(h.get());  // flushes HDF5, syncs the data, invalidates the journal durably
      h.release();
    } catch (const StateError&) {
      // Another id of the file is still open (left by an earlier failure):
      // commit, then close separately.
      undo::tx_commit(h);
      h.close_checked(files.path(file));
    } catch (...) {
      h.release();  // close_commit released the id even though it failed
      throw;
    }
  } catch (const Error&) {
    // Put the file back as it was now, so readers of this store keep
    // working: abort if the driver still can, close, and revert from the
    // undo journal (a no-op if the abort did it). Cleanup errors are not
    // reported over the original one; whatever is left, the next open's
    // recovery reverts from the same journal.
    if (h.valid()) {
      try {
        undo::tx_abort(h);
      } catch (const Error& e2) {
        (void)e2;
      }
      hdf5::Lock hl(hdf5::mutex());
      h.reset();
    }
    try {
      undo::recover(env, files.path(file), journal_path);
    } catch (const Error& e3) {
      (void)e3;
    }
    throw;
  }
}

}  // namespace

std::vector<journal::Manifest> apply_batch(Env& env, DataFiles& files, const std::string& journal_dir,
                                           const std::vector<BatchTx>& batch, BatchStats* stats,
                                           const WaitForFiles& wait_busy, const BeforeApply& before_apply) {
  std::vector<journal::Manifest> manifests;
  manifests.reserve(batch.size());
  for (const auto& t : batch) manifests.push_back(journal::read_manifest(env, t.dir, t.txid));
  if (before_apply) before_apply(batch, manifests);

  std::map<std::string, FilePlan> plans;
  for (size_t i = 0; i < manifests.size(); i++) {
    for (const Op& op : manifests[i].ops) {
      FilePlan& p = plans[op.file];
      switch (op.kind) {
        case OpKind::CreateFile:
          p.create = true;
          break;
        case OpKind::WriteChunk: {
          ChunkSource& slot = p.chunks[{op.path, op.shape}];
          if (slot.op) stats->chunks_skipped++;
          slot = {&batch[i].dir, &op};
          break;
        }
        default:
          p.catalog.push_back(&op);
          break;
      }
    }
  }

  std::string undo_dir = path_join(journal_dir, journal::undo_dir_name(batch.front().txid));
  env.create_dir_if_missing(undo_dir);
  env.sync_dir(journal_dir);
  // Files are independent (one undo journal each): one held by another
  // process waits, the others go on.
  std::vector<std::string> todo;
  for (const auto& kv : plans) todo.push_back(kv.first);
  while (!todo.empty()) {
    std::vector<std::string> held;
    std::vector<BusyFile> busy;
    for (const std::string& file : todo) {
      try {
        apply_file(env, files, file, plans[file], path_join(undo_dir, file + ".journal"), stats);
      } catch (const BusyError& e) {
        // HDF5's file lock, taken before anything is read or written.
        if (!wait_busy || e.sys_errno() != EWOULDBLOCK) throw;
        held.push_back(file);
        busy.push_back(BusyFile{files.path(file), e.detail()});
      }
    }
    todo.swap(held);
    if (!todo.empty() && !wait_busy(busy))
      throw FlushInterrupted("flush batch " + journal::txid_hex(batch.front().txid) +
                             " left unfinished: " + busy.front().path + " is held by another process");
  }
  return manifests;
}

}  // namespace h5tx
