#!/usr/bin/env python3
"""Prints the reliability table from the torture suite's ledger.

Usage: tools/reliability_summary.py LEDGER.tsv [--markdown]

Each ledger line: scenario, guarantee (1-6 of DESIGN.md), trial kind
(crash_states, kills, injected_errors, bad_inputs), tried, violations.
Exits 1 if any violation was recorded (the torture tests fail on them too).
"""
import collections
import sys

GUARANTEES = {
    1: "committed transaction never lost",
    2: "uncommitted: all or nothing",
    3: "every HDF5 file opens and reads",
    4: "recovery is idempotent",
    5: "I/O errors surface, nothing lost",
    6: "bad input: clear error, nothing changed",
}
KINDS = ["crash_states", "kills", "injected_errors", "bad_inputs"]


def main():
    if len(sys.argv) < 2:
        print(__doc__)
        return 2
    markdown = "--markdown" in sys.argv
    tried = collections.defaultdict(int)
    bad = collections.defaultdict(int)
    scenarios = collections.defaultdict(set)
    try:
        lines = open(sys.argv[1]).read().splitlines()
    except FileNotFoundError:
        lines = []
    for line in lines:
        parts = line.split("\t")
        if len(parts) != 5:
            continue
        scen, g, kind, n, v = parts[0], int(parts[1]), parts[2], int(parts[3]), int(parts[4])
        tried[(g, kind)] += n
        bad[(g, kind)] += v
        scenarios[g].add(scen)
    sep = " | " if markdown else "  "
    header = ["guarantee"] + [f"{k} (violations)" for k in KINDS] + ["scenarios"]
    rows = []
    for g in sorted(GUARANTEES):
        row = [f"{g}. {GUARANTEES[g]}"]
        for k in KINDS:
            row.append(f"{tried[(g, k)]} ({bad[(g, k)]})" if tried[(g, k)] else "-")
        row.append(str(len(scenarios[g])))
        rows.append(row)
    widths = [max(len(r[i]) for r in rows + [header]) for i in range(len(header))]
    def fmt(r):
        cells = [c.ljust(w) for c, w in zip(r, widths)]
        return ("| " + sep.join(cells) + " |") if markdown else sep.join(cells)
    print(fmt(header))
    if markdown:
        print("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    for r in rows:
        print(fmt(r))
    total_tried = sum(tried.values())
    total_bad = sum(bad.values())
    print(f"\nreliability: {total_tried} trials, {total_bad} violations")
    if not lines:
        print("reliability: the ledger is empty (no torture test ran in this selection)")
        return 0
    return 1 if total_bad else 0


if __name__ == "__main__":
    sys.exit(main())
