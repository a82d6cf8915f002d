// The table of rows and the Markdown / JSON reports (see report.hpp).
#include "report.hpp"

#include <cmath>
#include <cstdio>
#include <sstream>

namespace h5tx {
namespace bench {

const std::vector<RowSpec>& all_rows() {
  static const std::vector<RowSpec> rows = {
      {"W1", "raw", false, raw_w1, true},
      {"W1", "plain", false, plain_w1, true},
      {"W1", "sqlite", false, sqlite_w1, true},
      {"W1", "copy+rename", false, copy_rename_w1, true},
      {"W1", "h5tx-redo", true, redo_w1, true},
      {"W1", "h5tx-undo", true, undo_w1, true},
      {"W1", "h5tx-redo-noflusher", true, redo_w1_no_flusher, true},
      {"W2", "raw", false, raw_w2, true},
      {"W2", "plain", false, plain_w2, true},
      {"W2", "sqlite", false, sqlite_w2, true},
      {"W2", "h5tx-redo", true, redo_w2, true},
      {"W2", "h5tx-redo-history", true, redo_w2_history, true},
      {"W3", "raw", false, raw_w3, true},
      {"W3", "sqlite", false, sqlite_w3, true},
      {"W3", "h5tx-redo", true, redo_w3, true},
      {"W3", "h5tx-redo-noflusher", true, redo_w3_no_flusher, true},
      {"W4", "plain", false, plain_w4, true},
      {"W4", "per-write-fsync", false, driver_fsync_w4, true},
      {"W4", "undo-driver", true, driver_w4, true},
      {"W4", "h5tx-undo", true, undo_w4, true},
      {"W5", "plain", false, plain_w5, true},
      {"W5", "per-write-fsync", false, driver_fsync_w5, true},
      {"W5", "undo-driver", true, driver_w5, true},
      {"W5", "h5tx-undo", true, undo_w5, true},
      {"W4slow", "per-write-fsync", false, driver_fsync_w4_slow, true},
      {"W4slow", "undo-driver", true, driver_w4_slow, true},
      {"W4slow", "h5tx-undo", true, undo_w4_slow, true},
      {"FLUSH", "small", true, redo_flush_small, false},
      {"FLUSH", "large", true, redo_flush_large, false},
      {"OPEN", "h5tx-redo", true, redo_open, false},
      {"I1", "h5py", false, h5py_i1, true},
      {"I1", "hdf5-c", false, hdf5_i1, true},
      {"I1", "h5tx-cli-redo", true, cli_redo_i1, true},
      {"I1", "h5tx-cli-undo", true, cli_undo_i1, true},
      {"I1z", "h5py", false, h5py_i1z, true},
      {"I1z", "hdf5-c", false, hdf5_i1z, true},
      {"I1z", "h5tx-cli-redo", true, cli_redo_i1z, true},
      {"I1z", "h5tx-cli-undo", true, cli_undo_i1z, true},
      {"I1py", "cpp", false, cpp_i1py, true},
      {"I1py", "python", true, python_i1py, true},
      {"DASK1", "h5py-lock", false, [](const Context& c) { return dask_store(c, "h5py-lock", 1); }, false},
      {"DASK1", "h5tx-resumable", true, [](const Context& c) { return dask_store(c, "h5tx-resumable", 1); },
       false},
      {"DASK1", "h5tx-atomic", true, [](const Context& c) { return dask_store(c, "h5tx-atomic", 1); }, false},
      {"DASK2", "h5py-lock", false, [](const Context& c) { return dask_store(c, "h5py-lock", 2); }, false},
      {"DASK2", "h5tx-resumable", true, [](const Context& c) { return dask_store(c, "h5tx-resumable", 2); },
       false},
      {"DASK2", "h5tx-atomic", true, [](const Context& c) { return dask_store(c, "h5tx-atomic", 2); }, false},
      {"CHECK", "h5tx", true, check_vs_h5py, false},
      {"SCALE", "small", true, scale_small, false},
      {"SCALE", "mid", true, scale_mid, false},
      {"SCALE", "large", true, scale_large, false},
  };
  static const std::vector<RowSpec> with_w6 = [] {
    std::vector<RowSpec> all = rows;
    for (const char* w : {"W6", "W6L"})
      for (const char* kind : {"h5tx-procs", "h5tx-threads", "plain-procs"})
        for (int n : {1, 2, 4}) {
          const std::string system = std::string(kind) + "-" + std::to_string(n);
          const std::string workload = w;
          const bool subject = std::string(kind) != "plain-procs";
          all.push_back({workload, system, subject,
                         [workload, system](const Context& c) { return w6_row(c, workload, system); },
                         false});
        }
    return all;
  }();
  return with_w6;
}

namespace {

const RowOutcome* find(const std::vector<RowOutcome>& rows, const std::string& id) {
  for (const auto& r : rows)
    if (r.spec->id() == id) return &r;
  return nullptr;
}

// The metric of a measured row, or NaN.
double metric(const std::vector<RowOutcome>& rows, const std::string& id, const std::string& m) {
  const RowOutcome* r = find(rows, id);
  if (!r || !r->result.error.empty()) return NAN;
  auto it = r->result.metrics.find(m);
  return it == r->result.metrics.end() ? NAN : it->second;
}

std::string num(double v, int prec = 2) {
  if (std::isnan(v)) return "-";
  char buf[64];
  if (std::fabs(v) >= 100)
    std::snprintf(buf, sizeof buf, "%.0f", v);
  else if (std::fabs(v) >= 10)
    std::snprintf(buf, sizeof buf, "%.1f", v);
  else
    std::snprintf(buf, sizeof buf, "%.*f", prec, v);
  return buf;
}

std::string json_num(double v) {
  if (!std::isfinite(v)) return "null";
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.6g", v);
  return buf;
}

std::string json_str(const std::string& s) {
  std::string o = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\')
      o += '\\', o += c;
    else if (c == '\n')
      o += "\\n";
    else if (uint8_t(c) < 0x20) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\u%04x", c);
      o += buf;
    } else
      o += c;
  }
  return o + "\"";
}

struct Target {
  std::string text;
  std::string num_row, num_metric, den_row, den_metric;
  bool at_least;  // measured >= threshold (else <=)
  double threshold;
};

const std::vector<Target>& targets() {
  static const std::vector<Target> t = {
      {"W1 commit throughput >= 0.33x raw (tx/s)", "W1/h5tx-redo", "tx_per_s", "W1/raw", "tx_per_s", true,
       0.33},
      {"W3 (8 threads) >= 1.0x single-threaded raw (tx/s, group commit)", "W3/h5tx-redo", "tx_per_s",
       "W1/raw", "tx_per_s", true, 1.0},
      {"W2 end to end (until flushed) >= 0.5x plain (MiB/s)", "W2/h5tx-redo", "mib_per_s", "W2/plain",
       "mib_per_s", true, 0.5},
      {"W2 commit path >= 0.8x raw bandwidth (MiB/s)", "W2/h5tx-redo", "commit_mib_per_s", "W2/raw",
       "mib_per_s", true, 0.8},
      {"W4 time <= 2.5x plain (h5tx undo mode)", "W4/h5tx-undo", "seconds", "W4/plain", "seconds", false,
       2.5},
      {"W4 >= 10x faster than per-write fsync (h5tx undo mode)", "W4/per-write-fsync", "seconds",
       "W4/h5tx-undo", "seconds", true, 10},
      {"W5 time <= 1.2x plain (h5tx undo mode)", "W5/h5tx-undo", "seconds", "W5/plain", "seconds", false,
       1.2},
      {"W2 end to end >= 1.0x sqlite (MiB/s)", "W2/h5tx-redo", "mib_per_s", "W2/sqlite", "mib_per_s", true,
       1.0},
      {"W2 with history end to end >= 0.9x without (MiB/s; appends keep no copies)", "W2/h5tx-redo-history",
       "mib_per_s", "W2/h5tx-redo", "mib_per_s", true, 0.9},
      {"W1 >= 100x copy+rename (tx/s)", "W1/h5tx-redo", "tx_per_s", "W1/copy+rename", "tx_per_s", true, 100},
      {"flusher peak RSS, large backlog <= 1.2x small backlog", "FLUSH/large", "rss_mib", "FLUSH/small",
       "rss_mib", false, 1.2},
      // Issue 13.
      {"I1 `h5tx ingest` + flush, redo: time <= 1.0x h5py", "I1/h5tx-cli-redo", "seconds", "I1/h5py",
       "seconds", false, 1.0},
      {"I1 `h5tx ingest`, undo: time <= 0.9x h5py", "I1/h5tx-cli-undo", "seconds", "I1/h5py", "seconds",
       false, 0.9},
      {"I1z (shuffle+deflate:4) `h5tx ingest` redo: throughput >= 1.5x h5py", "I1z/h5tx-cli-redo",
       "mib_per_s", "I1z/h5py", "mib_per_s", true, 1.5},
      {"I1py Python `ds[...] = arr` >= 0.9x the C++ API's throughput", "I1py/python", "mib_per_s", "I1py/cpp",
       "mib_per_s", true, 0.9},
      {"SCALE ingest peak RSS, largest <= 1.2x smallest input", "SCALE/large", "rss_mib", "SCALE/small",
       "rss_mib", false, 1.2},
      {"SCALE ingest time per GiB, largest <= 1.2x smallest input", "SCALE/large", "s_per_gib", "SCALE/small",
       "s_per_gib", false, 1.2},
      {"OPEN Store::open with N pending tx <= 2x listing and reading their MANIFESTs", "OPEN/h5tx-redo",
       "open_ms", "OPEN/h5tx-redo", "manifest_read_ms", false, 2.0},
      {"CHECK `h5tx check` <= 1.5x reading every chunk once with h5py", "CHECK/h5tx", "check_seconds",
       "CHECK/h5tx", "h5py_read_seconds", false, 1.5},
      {"W4slow (every sync +sync_delay_ms) h5tx undo >= 10x faster than per-write fsync",
       "W4slow/per-write-fsync", "seconds", "W4slow/h5tx-undo", "seconds", true, 10},
  };
  return t;
}

struct TargetOutcome {
  double measured;  // NaN if not measured
  std::string why;  // why not measured
  bool holds;
};

std::string not_measured_reason(const std::vector<RowOutcome>& rows, const std::string& id) {
  const RowOutcome* r = find(rows, id);
  if (!r) return id + " not run";
  if (!r->result.error.empty()) return id + " not measured: " + r->result.error;
  return "";
}

TargetOutcome evaluate(const std::vector<RowOutcome>& rows, const Target& t) {
  TargetOutcome o;
  double a = metric(rows, t.num_row, t.num_metric);
  double b = metric(rows, t.den_row, t.den_metric);
  o.measured = (std::isnan(a) || std::isnan(b) || b == 0) ? NAN : a / b;
  if (std::isnan(o.measured)) {
    o.why = not_measured_reason(rows, t.num_row);
    if (o.why.empty()) o.why = not_measured_reason(rows, t.den_row);
    if (o.why.empty()) o.why = "metric missing";
  }
  o.holds = !std::isnan(o.measured) && (t.at_least ? o.measured >= t.threshold : o.measured <= t.threshold);
  return o;
}

std::string workload_title(const std::string& w, const Sizes& s) {
  std::ostringstream o;
  if (w == "W1")
    o << "W1: small transactions, " << s.w1_tx << " tx of one " << s.w1_chunk / KiB
      << " KiB chunk (copy+rename: " << s.copy_tx << " tx on a " << s.copy_file_mib << " MiB file)";
  else if (w == "W2")
    o << "W2: bulk ingest, " << s.w2_mib << " MiB in " << s.w2_chunk / KiB << " KiB chunks, "
      << s.w2_chunks_per_tx << " per tx, timed until flushed";
  else if (w == "W3")
    o << "W3: " << s.w3_threads << " threads x " << s.w3_tx_per_thread << " tx of W1 at once";
  else if (w == "W4")
    o << "W4: undo mode, one transaction overwriting " << s.w4_mib << " MiB of existing " << s.w45_chunk / KiB
      << " KiB chunks in place";
  else if (w == "W4slow")
    o << "W4slow: W4 on an emulated slow disk, every sync (fsync, fdatasync, directory) + " << s.sync_delay_ms
      << " ms";
  else if (w == "W5")
    o << "W5: undo mode, " << s.w5_tx << " transactions appending " << s.w5_mib << " MiB of new "
      << s.w45_chunk / KiB << " KiB chunks to a " << s.w5_mib << " MiB dataset";
  return o.str();
}

const char* kWorkloads[] = {"W1", "W2", "W3", "W4", "W5", "W4slow"};

// The ingest tables of issue 13: throughput and the time ratio to the
// workload's reference row (h5py; the C++ API for I1py).
void ingest_table(std::ostringstream& md, const std::vector<RowOutcome>& rows, const std::string& w,
                  const std::string& title, const std::string& ref) {
  bool any = false;
  for (const auto& r : rows) any |= r.spec->workload == w;
  if (!any) return;
  std::string ref_id = w + "/" + ref;
  md << "## " << title << "\n\n"
     << "| system | MiB/s | seconds | time / " << ref << " | throughput / " << ref << " | time / " << ref
     << " in-script | peak RSS MiB | RSS / " << ref
     << " | notes |\n|---|---:|---:|---:|---:|---:|---:|---:|---|\n";
  for (const auto& r : rows) {
    if (r.spec->workload != w) continue;
    std::string id = r.spec->id();
    if (!r.result.error.empty()) {
      md << "| " << r.spec->system << " | | | | | | | | not measured: " << r.result.error << " |\n";
      continue;
    }
    const auto& m = r.result.metrics;
    std::ostringstream notes;
    if (m.count("in_script_seconds")) notes << "in-script " << num(m.at("in_script_seconds")) << " s; ";
    if (m.count("runs")) notes << num(m.at("runs"), 0) << " runs; ";
    notes << "load " << num(r.load_before, 1);
    md << "| " << r.spec->system << " | " << num(metric(rows, id, "mib_per_s")) << " | "
       << num(metric(rows, id, "seconds")) << " | "
       << num(metric(rows, id, "seconds") / metric(rows, ref_id, "seconds")) << "x | "
       << num(metric(rows, id, "mib_per_s") / metric(rows, ref_id, "mib_per_s")) << "x | "
       << num(metric(rows, id, "seconds") / metric(rows, ref_id, "in_script_seconds")) << "x | "
       << num(metric(rows, id, "rss_mib"), 1) << " | "
       << num(metric(rows, id, "rss_mib") / metric(rows, ref_id, "rss_mib")) << "x | " << notes.str()
       << " |\n";
  }
  md << "\n";
}

std::string notes_of(const RowOutcome& r) {
  if (!r.result.error.empty()) return "not measured: " + r.result.error;
  std::ostringstream n;
  const auto& m = r.result.metrics;
  auto has = [&](const char* k) { return m.count(k) != 0; };
  const char* sep = "";
  if (has("commit_mib_per_s") && r.spec->workload == "W2") {
    n << sep << "commit path " << num(m.at("commit_mib_per_s")) << " MiB/s";
    sep = "; ";
  }
  if (has("tx_per_flush_batch")) {
    n << sep << num(m.at("tx_per_flush_batch"), 1) << " tx per flush batch";
    sep = "; ";
  }
  if (has("e2e_seconds")) {
    n << sep << "until flushed " << num(m.at("e2e_seconds")) << " s";
    sep = "; ";
  }
  if (has("tx_per_s_min"))
    n << sep << "tx/s " << num(m.at("tx_per_s_min")) << ".." << num(m.at("tx_per_s_max")) << " over "
      << num(m.at("runs"), 0) << " runs";
  else
    n << sep << "total " << num(m.at("seconds")) << " s";
  n << "; load " << num(r.load_before, 1);
  return n.str();
}

}  // namespace

std::string markdown_report(const std::vector<RowOutcome>& rows, const RunInfo& info) {
  std::ostringstream md;
  md << "# h5tx benchmark" << (info.quick ? " (--quick: sizes / 16, not for conclusions)" : "") << "\n\n";
  md << "- command: `" << info.command << "`\n";
  md << "- started " << info.started_utc << ", " << num(info.total_seconds, 0) << " s in total\n";
  md << "- machine: " << info.machine << "; 1-min load average " << num(info.load_start, 2) << " at start, "
     << num(info.load_end, 2) << " at end\n";
  md << "- each row runs in its own child process; peak RSS is that process's VmHWM. "
        "Latency is one transaction from begin to durable commit.\n";
  md << "- W1-W5, W4slow, I1, I1z and I1py rows ran " << info.repeat
     << " time(s), interleaved; every number is the median of the runs. Only ratios measured in "
        "one run mean anything on a shared machine.\n\n";

  md << "## Targets (issues 7 and 13)\n\n| target | measured | holds? |\n|---|---|---|\n";
  for (const auto& t : targets()) {
    TargetOutcome o = evaluate(rows, t);
    md << "| " << t.text << " | "
       << (std::isnan(o.measured) ? "not measured: " + o.why : num(o.measured) + "x") << " | "
       << (std::isnan(o.measured) ? "?"
           : o.holds              ? "yes"
                                  : "**no**")
       << " |\n";
  }
  md << "\n";

  for (const char* w : kWorkloads) {
    bool any = false;
    for (const auto& r : rows) any |= r.spec->workload == w;
    if (!any) continue;
    md << "## " << workload_title(w, info.sizes) << "\n\n";
    md << "| system | tx/s | MiB/s | p50 ms | p99 ms | peak RSS MiB | notes |\n"
          "|---|---:|---:|---:|---:|---:|---|\n";
    for (const auto& r : rows) {
      if (r.spec->workload != w) continue;
      std::string id = r.spec->id();
      md << "| " << r.spec->system << " | " << num(metric(rows, id, "tx_per_s")) << " | "
         << num(metric(rows, id, "mib_per_s")) << " | " << num(metric(rows, id, "lat_p50_ms")) << " | "
         << num(metric(rows, id, "lat_p99_ms")) << " | " << num(metric(rows, id, "rss_mib"), 1) << " | "
         << notes_of(r) << " |\n";
    }
    md << "\nRatios h5tx / baseline (throughput: > 1 is better; latency, RSS: < 1 is better):\n\n"
          "| h5tx | baseline | tx/s | MiB/s | p50 | p99 | peak RSS |\n|---|---|---:|---:|---:|---:|---:|\n";
    for (const auto& s : rows) {
      if (s.spec->workload != w || !s.spec->is_h5tx) continue;
      for (const auto& b : rows) {
        if (b.spec->workload != w || b.spec->is_h5tx) continue;
        md << "| " << s.spec->system << " | " << b.spec->system;
        for (const char* m : {"tx_per_s", "mib_per_s", "lat_p50_ms", "lat_p99_ms", "rss_mib"})
          md << " | " << num(metric(rows, s.spec->id(), m) / metric(rows, b.spec->id(), m));
        md << " |\n";
      }
    }
    md << "\n";
  }

  bool flush_rows = find(rows, "FLUSH/small") || find(rows, "FLUSH/large");
  if (flush_rows) {
    md << "## Flusher memory (redo store, background_flusher=false: commit the backlog, then a fresh "
          "process opens the store and runs flush())\n\n"
          "| backlog MiB | commit s | open s | flush s | flush MiB/s | peak RSS MiB (flushing process) |\n"
          "|---:|---:|---:|---:|---:|---:|\n";
    for (const char* id : {"FLUSH/small", "FLUSH/large"}) {
      const RowOutcome* r = find(rows, id);
      if (!r) continue;
      if (!r->result.error.empty()) {
        md << "| " << id << " | not measured: " << r->result.error << " | | | | |\n";
        continue;
      }
      md << "| " << num(metric(rows, id, "backlog_mib"), 0) << " | "
         << num(metric(rows, id, "commit_seconds")) << " | " << num(metric(rows, id, "open_seconds")) << " | "
         << num(metric(rows, id, "flush_seconds")) << " | " << num(metric(rows, id, "flush_mib_per_s"))
         << " | " << num(metric(rows, id, "rss_mib"), 1) << " |\n";
    }
    md << "\n";
  }
  if (const RowOutcome* r = find(rows, "OPEN/h5tx-redo")) {
    md << "## Opening a store with pending transactions (warm cache)\n\n";
    if (!r->result.error.empty()) {
      md << "not measured: " << r->result.error << "\n\n";
    } else {
      md << "| pending tx | Store::open ms | read every MANIFEST ms | open / read |\n|---:|---:|---:|---:|\n"
         << "| " << num(metric(rows, "OPEN/h5tx-redo", "pending_tx"), 0) << " | "
         << num(metric(rows, "OPEN/h5tx-redo", "open_ms")) << " | "
         << num(metric(rows, "OPEN/h5tx-redo", "manifest_read_ms")) << " | "
         << num(metric(rows, "OPEN/h5tx-redo", "open_over_read")) << "x |\n\n";
    }
  }
  std::string vol = std::to_string(info.sizes.i1_mib) + " MiB uint8 volume (n x 512 x 512), 64^3 chunks";
  md << "Ingest tables: seconds is the whole process for the CLI and h5py rows (CLI: init + ingest, "
        "ingest's close flushes in redo mode; h5py: interpreter start, imports, np.load, write, close, "
        "fsync), in-process for hdf5-c and I1py. \"in-script\": h5py's time without interpreter start "
        "and imports (the stricter comparison for h5tx). Peak RSS: ru_maxrss of the process doing the "
        "work.\n\n";
  ingest_table(md, rows, "I1",
               "I1: ingest of a " + vol + ", Fletcher32; CLI: `h5tx init` + `h5tx ingest` (close flushes)",
               "h5py");
  ingest_table(md, rows, "I1z", "I1z: I1 with shuffle + deflate:4 + Fletcher32 (`--compress deflate:4`)",
               "h5py");
  ingest_table(
      md, rows, "I1py",
      "I1py: the " + vol + " from memory, one transaction per slab of chunk rows, redo, until closed", "cpp");
  std::string dask = std::to_string(info.sizes.dask_mib) +
                     " MiB dask array (u4, 8 MiB blocks, 1 MiB HDF5 chunks) from a distributed.LocalCluster "
                     "of ";
  std::string dask_how =
      " worker process(es): h5py-lock = dask.array.store into one HDF5 file, each task reopening it under "
      "a distributed.Lock (no fsync); h5tx = h5tx.dask.store, durable, then flushed into data/; seconds "
      "from the cluster being up to the data being in the HDF5 file";
  ingest_table(md, rows, "DASK1", "DASK1: " + dask + "1" + dask_how, "h5py-lock");
  ingest_table(md, rows, "DASK2", "DASK2: " + dask + "2" + dask_how, "h5py-lock");
  if (const RowOutcome* r = find(rows, "CHECK/h5tx")) {
    md << "## `h5tx check` of a store holding the I1 volume vs reading every chunk once with h5py "
          "(warm cache, medians of 3 alternated pairs)\n\n";
    if (!r->result.error.empty())
      md << "not measured: " << r->result.error << "\n\n";
    else
      md << "| h5tx check s (process) | h5py read s (in-script) | h5py read s (process) | check / read "
            "(in-script) |\n|---:|---:|---:|---:|\n| "
         << num(metric(rows, "CHECK/h5tx", "check_seconds")) << " | "
         << num(metric(rows, "CHECK/h5tx", "h5py_read_seconds")) << " | "
         << num(metric(rows, "CHECK/h5tx", "h5py_read_process_seconds")) << " | "
         << num(metric(rows, "CHECK/h5tx", "check_over_read")) << "x |\n\n";
  }
  bool scale = false;
  for (const auto& r : rows) scale |= r.spec->workload == "SCALE";
  if (scale) {
    md << "## SCALE: `h5tx ingest` (redo, Fletcher32) time and peak RSS vs input size\n\n"
          "| input MiB | seconds | s per GiB | per GiB / smallest | peak RSS MiB | RSS / smallest |\n"
          "|---:|---:|---:|---:|---:|---:|\n";
    for (const char* id : {"SCALE/small", "SCALE/mid", "SCALE/large"}) {
      const RowOutcome* r = find(rows, id);
      if (!r) continue;
      if (!r->result.error.empty()) {
        md << "| " << id << " | not measured: " << r->result.error << " | | | | |\n";
        continue;
      }
      md << "| " << num(metric(rows, id, "bytes") / double(MiB), 0) << " | "
         << num(metric(rows, id, "seconds")) << " | " << num(metric(rows, id, "s_per_gib")) << " | "
         << num(metric(rows, id, "s_per_gib") / metric(rows, "SCALE/small", "s_per_gib")) << "x | "
         << num(metric(rows, id, "rss_mib"), 1) << " | "
         << num(metric(rows, id, "rss_mib") / metric(rows, "SCALE/small", "rss_mib")) << "x |\n";
    }
    md << "\n";
  }
  for (const char* w : {"W6", "W6L"}) {
    bool any = false;
    for (const auto& r : rows) any |= r.spec->workload == w;
    if (!any) continue;
    const std::string W = w;
    const Sizes& z = info.sizes;
    if (W == "W6")
      md << "## W6: N writers at once, each " << z.w6_tx << " tx of one " << z.w1_chunk / KiB
         << " KiB chunk\n\n";
    else
      md << "## W6L: N writers at once, each " << z.w6_large_tx << " tx of " << z.w2_chunks_per_tx << " x "
         << z.w2_chunk / KiB << " KiB chunks\n\n";
    md << "Throughput over all writers, from the first start to the last end (h5tx rows: open, commit, "
          "close = flushed). h5tx processes: one redo store; threads: one store, one process; plain: each "
          "process its own HDF5 file, fsync per transaction.\n\n"
          "| writers | h5tx processes tx/s | MiB/s | scaling / 1 process | h5tx threads tx/s | processes / "
          "threads | plain processes tx/s | h5tx processes / plain "
          "|\n|---:|---:|---:|---:|---:|---:|---:|---:|\n";
    for (int n : {1, 2, 4}) {
      const std::string ns = std::to_string(n);
      const std::string p = W + "/h5tx-procs-" + ns, t = W + "/h5tx-threads-" + ns,
                        b = W + "/plain-procs-" + ns;
      const double pt = metric(rows, p, "tx_per_s");
      md << "| " << n << " | " << num(pt) << " | " << num(metric(rows, p, "mib_per_s")) << " | "
         << num(pt / metric(rows, W + "/h5tx-procs-1", "tx_per_s")) << "x | "
         << num(metric(rows, t, "tx_per_s")) << " | " << num(pt / metric(rows, t, "tx_per_s")) << "x | "
         << num(metric(rows, b, "tx_per_s")) << " | " << num(pt / metric(rows, b, "tx_per_s")) << "x |\n";
      for (const std::string& id : {p, t, b}) {
        const std::string why = not_measured_reason(rows, id);
        if (!why.empty() && find(rows, id)) md << "\n" << why << "\n";
      }
    }
    md << "\n";
  }
  return md.str();
}

std::string json_report(const std::vector<RowOutcome>& rows, const RunInfo& info) {
  std::ostringstream j;
  const Sizes& s = info.sizes;
  j << "{\n  \"quick\": " << (info.quick ? "true" : "false") << ",\n";
  j << "  \"repeat\": " << info.repeat << ",\n";
  j << "  \"command\": " << json_str(info.command) << ",\n";
  j << "  \"started_utc\": " << json_str(info.started_utc) << ",\n";
  j << "  \"total_seconds\": " << json_num(info.total_seconds) << ",\n";
  j << "  \"machine\": " << json_str(info.machine) << ",\n";
  j << "  \"load_start\": " << json_num(info.load_start) << ", \"load_end\": " << json_num(info.load_end)
    << ",\n";
  j << "  \"sizes\": {\"w1_tx\": " << s.w1_tx << ", \"w1_chunk\": " << s.w1_chunk
    << ", \"copy_tx\": " << s.copy_tx << ", \"copy_file_mib\": " << s.copy_file_mib
    << ", \"w2_mib\": " << s.w2_mib << ", \"w2_chunk\": " << s.w2_chunk
    << ", \"w2_chunks_per_tx\": " << s.w2_chunks_per_tx << ", \"w3_threads\": " << s.w3_threads
    << ", \"w3_tx_per_thread\": " << s.w3_tx_per_thread << ", \"w4_mib\": " << s.w4_mib
    << ", \"w45_chunk\": " << s.w45_chunk << ", \"w5_mib\": " << s.w5_mib << ", \"w5_tx\": " << s.w5_tx
    << ", \"flush_small_mib\": " << s.flush_small_mib << ", \"flush_large_mib\": " << s.flush_large_mib
    << ", \"open_tx\": " << s.open_tx << ", \"i1_mib\": " << s.i1_mib << ", \"dask_mib\": " << s.dask_mib
    << ", \"scale_small_mib\": " << s.scale_small_mib << ", \"scale_mid_mib\": " << s.scale_mid_mib
    << ", \"scale_large_mib\": " << s.scale_large_mib << ", \"sync_delay_ms\": " << s.sync_delay_ms << "},\n";
  j << "  \"rows\": [\n";
  for (size_t i = 0; i < rows.size(); i++) {
    const RowOutcome& r = rows[i];
    j << "    {\"id\": " << json_str(r.spec->id()) << ", \"workload\": " << json_str(r.spec->workload)
      << ", \"system\": " << json_str(r.spec->system)
      << ", \"h5tx\": " << (r.spec->is_h5tx ? "true" : "false")
      << ", \"load_before\": " << json_num(r.load_before)
      << ", \"measured\": " << (r.result.error.empty() ? "true" : "false");
    if (!r.result.error.empty()) j << ", \"not_measured\": " << json_str(r.result.error);
    j << ", \"metrics\": {";
    const char* sep = "";
    for (const auto& m : r.result.metrics) {
      j << sep << json_str(m.first) << ": " << json_num(m.second);
      sep = ", ";
    }
    j << "}}" << (i + 1 < rows.size() ? "," : "") << "\n";
  }
  j << "  ],\n  \"ratios\": [\n";
  const char* rsep = "";
  for (const auto& a : rows) {
    if (!a.spec->is_h5tx) continue;
    for (const auto& b : rows) {
      if (b.spec->is_h5tx || b.spec->workload != a.spec->workload) continue;
      j << rsep << "    {\"h5tx\": " << json_str(a.spec->id())
        << ", \"baseline\": " << json_str(b.spec->id());
      for (const char* m : {"tx_per_s", "mib_per_s", "lat_p50_ms", "lat_p99_ms", "rss_mib"})
        j << ", " << json_str(m) << ": "
          << json_num(metric(rows, a.spec->id(), m) / metric(rows, b.spec->id(), m));
      j << "}";
      rsep = ",\n";
    }
  }
  j << "\n  ],\n  \"targets\": [\n";
  for (size_t i = 0; i < targets().size(); i++) {
    const Target& t = targets()[i];
    TargetOutcome o = evaluate(rows, t);
    j << "    {\"target\": " << json_str(t.text) << ", \"threshold\": " << json_num(t.threshold)
      << ", \"at_least\": " << (t.at_least ? "true" : "false") << ", \"measured\": " << json_num(o.measured)
      << ", \"holds\": "
      << (std::isnan(o.measured) ? "null"
          : o.holds              ? "true"
                                 : "false");
    if (!o.why.empty()) j << ", \"not_measured\": " << json_str(o.why);
    j << "}" << (i + 1 < targets().size() ? "," : "") << "\n";
  }
  j << "  ]\n}\n";
  return j.str();
}

}  // namespace bench
}  // namespace h5tx
