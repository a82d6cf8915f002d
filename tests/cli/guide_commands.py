#!/usr/bin/python3
"""Runs every documented h5tx command of docs/user-guide.md as written.

The commands are the lines of the guide's ```sh blocks that start with
`h5tx `, in the order the guide gives them. They run one after the other
through bash, in a fresh scratch directory, with the h5tx under test first
on PATH. The one substitution (documented in the guide's "The h5tx
command"): the guide's example paths under /data/ (/data/store) become
SCRATCH/data/ (SCRATCH/data/store); every other path is relative to
SCRATCH. Inputs a line names with --from that do not exist yet are made
first: a .npy is a u16 array (rank of the line's --chunk, else 3; 80 per
dimension). Each command must exit 0, or N when the line ends with the
comment `# exit N`.

usage: guide_commands.py GUIDE H5TX_BINARY SCRATCH_DIR [--list]
"""
import os
import re
import shlex
import shutil
import subprocess
import sys


def guide_commands(guide_text):
    """The `h5tx ...` lines of the ```sh blocks, in order."""
    out, in_sh = [], False
    for line in guide_text.splitlines():
        stripped = line.strip()
        if stripped.startswith("```"):
            in_sh = (not in_sh) and stripped == "```sh"
            continue
        if in_sh and stripped.startswith("h5tx "):
            out.append(stripped)
    return out


def expected_exit(line):
    m = re.search(r"#\s*exit\s+(\d+)\s*$", line)
    return int(m.group(1)) if m else 0


def make_inputs(line, scratch):
    """Creates the --from inputs the line names that do not exist yet."""
    words = shlex.split(line, comments=True)
    chunk_rank = 3
    for i, w in enumerate(words[:-1]):
        if w == "--chunk":
            chunk_rank = len(words[i + 1].split(","))
    for i, w in enumerate(words[:-1]):
        if w != "--from" or words[i + 1] == "-":  # "-": standard input (a pipe)
            continue
        path = os.path.join(scratch, words[i + 1].split(":")[0])
        if os.path.exists(path):
            continue
        if path.endswith(".npy"):
            import numpy as np

            shape = (80,) * chunk_rank
            a = (np.arange(np.prod(shape), dtype=np.uint64) % 65521).astype(np.uint16).reshape(shape)
            np.save(path, a)
        else:
            raise SystemExit("guide_commands.py: do not know how to make the input " + path)


def main():
    if len(sys.argv) < 4:
        raise SystemExit(__doc__)
    guide, h5tx, scratch = sys.argv[1], os.path.abspath(sys.argv[2]), os.path.abspath(sys.argv[3])
    with open(guide, encoding="utf-8") as f:
        commands = guide_commands(f.read())
    if "--list" in sys.argv[4:]:
        print("\n".join(commands))
        return 0
    if len(commands) < 5:
        print("FAIL: only %d h5tx commands found in %s: is the extraction broken?" % (len(commands), guide))
        return 1
    shutil.rmtree(scratch, ignore_errors=True)
    os.makedirs(os.path.join(scratch, "data"))
    # The binary under test as `h5tx`, first on PATH.
    bindir = os.path.join(scratch, ".bin")
    os.makedirs(bindir)
    os.symlink(h5tx, os.path.join(bindir, "h5tx"))
    env = dict(os.environ, PATH=bindir + os.pathsep + os.environ.get("PATH", ""))
    failed = 0
    for line in commands:
        cmd = line.replace("/data/", scratch + "/data/")
        make_inputs(cmd, scratch)
        want = expected_exit(line)
        r = subprocess.run(["bash", "-c", cmd], cwd=scratch, env=env, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, text=True)
        ok = r.returncode == want
        print("%s: %s (exit %d%s)" % ("ok" if ok else "FAIL", line, r.returncode,
                                      "" if ok else ", the guide says %d" % want))
        if not ok:
            failed += 1
            sys.stdout.write(r.stdout[-2000:])
            sys.stdout.write(r.stderr[-2000:])
    print("%d of %d documented commands ran as the guide says" % (len(commands) - failed, len(commands)))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
