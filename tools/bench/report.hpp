// The rows of the benchmark table and how they are reported: one Markdown
// document and one JSON document, with ratios of every h5tx row to the
// baselines of its workload and the targets of issue 7.
#pragma once

#include <string>
#include <vector>

#include "bench.hpp"

namespace h5tx {
namespace bench {

// One configuration: a workload run by one system.
struct RowSpec {
  std::string workload;  // "W1" .. "W5", "FLUSH", "OPEN"
  std::string system;    // "raw", "plain", "h5tx-redo", ...
  bool is_h5tx;          // a subject (compared to the baselines), not a baseline
  RunFn run;
  bool repeated;  // run --repeat times (the W rows); else once
  std::string id() const { return workload + "/" + system; }
};

// Every row of the full table, in run order.
const std::vector<RowSpec>& all_rows();

struct RowOutcome {
  const RowSpec* spec;
  Result result;           // metrics incl. rss_mib, or error ("not measured: ...")
  double load_before = 0;  // 1-minute load average when the row started (max over runs)
};

struct RunInfo {
  bool quick = false;
  int repeat = 1;
  Sizes sizes;
  std::string command;
  std::string started_utc;
  double total_seconds = 0;
  std::string machine;  // cpus, memory, kernel, file system
  double load_start = 0, load_end = 0;
};

std::string markdown_report(const std::vector<RowOutcome>& rows, const RunInfo& info);
std::string json_report(const std::vector<RowOutcome>& rows, const RunInfo& info);

}  // namespace bench
}  // namespace h5tx
