#!/usr/bin/python3
"""Plots the SCALE series of an h5tx-bench JSON report: `h5tx ingest` time per
GiB and peak RSS against the input size (issue 13's cost-growth and memory
targets), each also as a ratio to the smallest input.

    /usr/bin/python3 tools/bench/plot.py BENCH.json OUT.png

BENCH.json is what `tools/bench/run.sh` (h5tx-bench --json) writes.
"""
import json
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def main(argv):
    if len(argv) != 3:
        sys.stderr.write(__doc__)
        return 2
    with open(argv[1]) as f:
        report = json.load(f)
    points = []
    for row in report["rows"]:
        if row["workload"] != "SCALE":
            continue
        if not row["measured"]:
            print(f"plot.py: {row['id']} not measured: {row.get('not_measured')}", file=sys.stderr)
            continue
        m = row["metrics"]
        points.append((m["bytes"] / 2**20, m["s_per_gib"], m["rss_mib"]))
    if not points:
        print("plot.py: no measured SCALE rows in " + argv[1], file=sys.stderr)
        return 1
    points.sort()
    mib = [p[0] for p in points]
    per_gib = [p[1] for p in points]
    rss = [p[2] for p in points]

    fig, (a, b) = plt.subplots(1, 2, figsize=(10, 4))
    a.plot(mib, per_gib, "o-")
    a.set_xscale("log", base=2)
    a.set_xlabel("input size (MiB)")
    a.set_ylabel("seconds per GiB (init + ingest + flush)")
    a.set_ylim(0, max(per_gib) * 1.3)
    a.set_title("h5tx ingest: time per GiB")
    for x, y in zip(mib, per_gib):
        a.annotate(f"{y / per_gib[0]:.2f}x", (x, y), textcoords="offset points", xytext=(0, 6), ha="center")
    b.plot(mib, rss, "o-", color="tab:red")
    b.set_xscale("log", base=2)
    b.set_xlabel("input size (MiB)")
    b.set_ylabel("peak RSS of the ingest process (MiB)")
    b.set_ylim(0, max(rss) * 1.3)
    b.set_title("h5tx ingest: peak RSS")
    for x, y in zip(mib, rss):
        b.annotate(f"{y / rss[0]:.2f}x", (x, y), textcoords="offset points", xytext=(0, 6), ha="center")
    for ax in (a, b):
        ax.set_xticks(mib)
        ax.set_xticklabels([f"{round(x)}" for x in mib])
        ax.grid(True, alpha=0.3)
    fig.suptitle(f"{report['machine']} ({report['started_utc']}; ratios to the smallest input; shared machine)",
                 fontsize=8)
    fig.tight_layout()
    fig.savefig(argv[2], dpi=100)
    print(f"plot.py: wrote {argv[2]}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
