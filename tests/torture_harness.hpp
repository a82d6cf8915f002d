// Crash-point enumeration over the fault-injecting Env.
//
// A Scenario has a `prepare` step (builds the state before the scenario,
// never crashed) and an `act` step whose every counted I/O operation is a
// crash point. For k = 1..K the harness runs act on a copy of the prepared
// state with the Env dying after operation k, simulates the power cut
// (FaultEnv::crash, dropping every unsynced write and directory change, or
// keeping a random subset torn at 512-byte sectors), runs recovery and
// checks the guarantees with `check`. For a sample of those crash states it
// also crashes recovery itself at each of its operations and checks that
// the next recovery repairs everything (guarantee 4). The same loop injects
// EIO/ENOSPC/failed fsync at operation k instead.
//
// How a crash is simulated (issue 12): in a forked child process, as
// SQLite's crash tests do. h5tx's code has no "dead Env" path; a power cut
// must end the process where it happens, with no unwinding through h5tx or
// HDF5 and no HDF5 at-exit cleanup. Each crashing run (prepare, act up to
// operation k, recovery up to operation j) is a child (crash_child.hpp):
// its FaultEnv's death hook sends the Env's image (the whole in-memory
// disk, synced and unsynced, and the counters) and the Outcome so far to
// the parent through a pipe and _exits inside the Env call that was the
// crash point. The parent rebuilds the Env from the image and does the
// power cut, recovery and checks itself (they never crash). An image is
// used, rather than shared memory or a real directory, because FaultEnv's
// state is ordinary C++ containers and its model of what is synced must
// survive the trip; one act child per crash point serves the plain and the
// random-seed power cuts (each on its own clone). The parent forks only
// while single-threaded with no HDF5 file open (checked). Injected I/O
// errors (the call fails, the process goes on) stay in-process: that is
// h5tx's ordinary error path.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "h5tx/store.hpp"
#include "io/testing/fault_env.hpp"

namespace h5tx_test {

// One chunk write of a transaction, with the value the chunk had before it.
struct ChunkWrite {
  std::string file, dataset;
  h5tx::Shape coords;
  std::vector<uint8_t> after, before;
};

// What a transaction does, for checking its visibility after recovery.
struct TxRecord {
  std::vector<ChunkWrite> writes;
  std::vector<std::string> created_files;  // files this transaction creates
};

// What act() knew when it stopped.
struct Outcome {
  std::vector<TxRecord> committed;    // commit() returned
  std::optional<TxRecord> in_flight;  // commit() was called (or about to be) and did not return
  bool finished = false;              // act ran to the end
  // The error act caught, if an h5tx::Error ended it (fault injection).
  std::optional<std::string> error, error_path;
};

struct Scenario {
  std::string name;
  h5tx::Mode mode = h5tx::Mode::Redo;
  std::string home = "/store";
  // Builds the starting state; must leave it durable (close the store).
  // Returns the transactions committed so far.
  std::function<std::vector<TxRecord>(h5tx::testing::FaultEnv&)> prepare;
  // The scenario. Appends to `out` as it goes (committed / in_flight).
  std::function<void(h5tx::testing::FaultEnv&, Outcome& out)> act;
  // Optional, for scenarios without a store (a bare HDF5 file under the
  // undo driver): recovery, and the guarantee checks after it.
  std::function<void(h5tx::testing::FaultEnv&)> recover;
  std::function<std::vector<std::string>(h5tx::testing::FaultEnv&, const std::vector<TxRecord>&,
                                         const Outcome&)>
      check;
};

struct Tally {
  uint64_t states = 0, violations = 0;
  // Injected errors after which HDF5 kept a file id whose H5Fclose failed
  // (HDF5 1.10 then crashes in its at-exit cleanup; docs/reliability.md).
  // Not a violation of the data guarantees, which are checked regardless.
  uint64_t hdf5_dangling_ids = 0;
  std::vector<std::string> messages;  // the first few violations
  void violation(const std::string& m) {
    ++violations;
    if (messages.size() < 20) messages.push_back(m);
  }
};

// Writes every chunk of `rec` in `tx`.
void write_all(h5tx::Transaction& tx, const TxRecord& rec);
// Commits `rec` with the outcome bookkeeping: in flight until commit()
// returns, committed after.
void commit_recorded(h5tx::Transaction& tx, const TxRecord& rec, Outcome& out);

// The prepared starting state of a scenario: its Env (durable, no handles)
// and the transactions prepare committed. prepare runs in a crash child, so
// it may end with power_cut_with_open_store.
struct Start {
  std::unique_ptr<h5tx::testing::FaultEnv> env;
  std::vector<TxRecord> prepared;
};
Start prepare_start(const Scenario& s);

// Outcome and TxRecord as bytes (a crash child's payload).
std::string encode_outcome(const Outcome& out);
Outcome decode_outcome(const std::string& bytes);
std::string encode_records(const std::vector<TxRecord>& recs);
std::vector<TxRecord> decode_records(const std::string& bytes);

// Store options used by every torture scenario: no background flusher, so
// the sequence of I/O operations is deterministic.
h5tx::Options torture_options(h5tx::testing::FaultEnv& env, h5tx::Mode mode);

// Recovery = open the store (recovery on open) and close it (which flushes).
void recover(h5tx::testing::FaultEnv& env, const Scenario& s);

// After recovery: checks guarantees 1-3 against what act() knew. Returns
// violations as messages (empty: all hold).
std::vector<std::string> check_state(h5tx::testing::FaultEnv& env, const Scenario& s,
                                     const std::vector<TxRecord>& prepared, const Outcome& out);

struct CrashRunStats {
  uint64_t ops = 0;      // K: operations of act
  Tally crash;           // guarantees 1-3 over crash states
  Tally recovery_crash;  // guarantee 4: crashes during recovery
  Tally errors;          // guarantee 5: injected errors
};

// Enumerates every crash point of s (default crash: nothing unsynced kept).
// random_seeds > 0: additionally, for every k, that many crashes keeping a
// random subset of unsynced writes, torn at 512 bytes (fixed seeds).
// recovery_budget: how many (k, r) recovery-crash states to try in total.
CrashRunStats enumerate_crashes(const Scenario& s, int random_seeds, uint64_t recovery_budget);

// For every operation k of act: fail it once with EIO, then ENOSPC; and
// every sync/datasync/sync_dir with EIO ("failed fsync"). Checks the error
// surfaced as an h5tx::Error naming a path, then power-cuts and checks 1-3.
// Each trial's act runs in a child process (run_crash_child without a crash
// point): the error is h5tx's ordinary error path there, caught, the
// process goes on (destructors, closes) and counts the HDF5 file ids left
// open; then the child hands over its disk and _exits, so an id left by a
// failed H5Fclose (HDF5 1.10) cannot crash this process at exit. Recovery
// and the checks run in this process.
Tally inject_errors(const Scenario& s);

// Power cut with `store` still open, in a crash child (prepare_start,
// run_crash_child) only: the store is abandoned, never destroyed (its
// destructor would write), and the Env drops what was not synced. Leaves
// exactly what commit() made durable. The child must end soon after
// without touching HDF5 again (the abandoned store's HDF5 ids are left
// open; the child _exits, so HDF5 never closes them).
void power_cut_with_open_store(h5tx::testing::FaultEnv& env, std::unique_ptr<h5tx::Store> store);

// Silences stderr (the store's reports of injected errors and recovery)
// while alive.
class QuietStderr {
 public:
  QuietStderr();
  ~QuietStderr();

 private:
  int saved_ = -1;
};

}  // namespace h5tx_test
