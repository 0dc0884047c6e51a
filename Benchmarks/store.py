#!/usr/bin/env python3
"""What `--out` costs (issue 13): a job of many tiny Monte Carlo cells run by the sgd-escape
CLI with and without `--out DIR`, whole processes, in the same invocation, and a peer that
writes the same rows with Python's sqlite3 (one transaction per cell, WAL,
synchronous = NORMAL: the store's own settings). Writes the table between the STORE markers
of Benchmarks/README.md.

Usage: python3 Benchmarks/store.py --cli .build/release/sgd-escape [--repeats 5] [--no-write]
"""
import argparse
import json
import os
import platform
import shutil
import sqlite3
import subprocess
import tempfile
import time
from datetime import datetime, timezone

HERE = os.path.dirname(os.path.abspath(__file__))
PATHS = 10  # paths per cell: a tiny cell (about 0.1 ms of simulation)


def spec(eps_values, dt_values):
    """A 1-D quadratic well left at |x| > 0.5: len(eps) x len(dt) cells of PATHS paths."""
    eps = ", ".join(f"{0.5 + 0.5 * i / eps_values:.6g}" for i in range(eps_values))
    dts = ", ".join(f"{1e-3 * (1 + i / dt_values):.6g}" for i in range(dt_values))
    return f'''name = "tiny-cells"
seed = 1

[landscape]
potential = "x^2/2"

[start]
point = [0.0]

[exit]
when = "abs(x) > 0.5"

[[experiment]]
name = "tiny"
dynamics = "langevin"
epsilon = [{eps}]
dt = [{dts}]
paths = {PATHS}
'''


def timed(command, cwd):
    start = time.perf_counter()
    subprocess.run(command, cwd=cwd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - start


def cli_times(cli, work, cells_shape, repeats):
    """Best wall time of `run` without and with --out (alternated, so load hits both alike)."""
    job = os.path.join(work, "job.toml")
    with open(job, "w") as f:
        f.write(spec(*cells_shape))
    bare, stored = [], []
    for _ in range(repeats):
        bare.append(timed([cli, "run", job, "--quiet", "--threads", "1"], work))
        out = os.path.join(work, "out")
        shutil.rmtree(out, ignore_errors=True)
        stored.append(timed([cli, "run", job, "--quiet", "--threads", "1", "--out", out], work))
    with open(os.path.join(work, "out", "summary.json")) as f:
        summary = json.load(f)
    assert len(summary["cells"]) == cells_shape[0] * cells_shape[1]
    return min(bare), min(stored)


def sqlite_peer(work, cells, repeats):
    """Python's sqlite3 writing the same rows as the store (a cell row with a ~0.8 KB JSON
    value and PATHS sample rows per cell), one transaction per cell: the floor of any
    per-cell commit in SQLite from a scripting language."""
    cell_json = json.dumps({"k": "x" * 800})
    best = float("inf")
    for r in range(repeats):
        path = os.path.join(work, f"peer{r}.sqlite")
        for suffix in ("", "-wal", "-shm"):
            if os.path.exists(path + suffix):
                os.remove(path + suffix)
        start = time.perf_counter()
        db = sqlite3.connect(path, isolation_level=None)
        db.execute("PRAGMA journal_mode = WAL")
        db.execute("PRAGMA synchronous = NORMAL")
        db.execute("CREATE TABLE cell (global_index INTEGER PRIMARY KEY, experiment_index INTEGER, cell_index INTEGER, json TEXT, sample_count INTEGER, digest TEXT)")
        db.execute("CREATE TABLE sample (experiment_index INTEGER, cell_index INTEGER, path INTEGER, steps INTEGER, time REAL, outcome TEXT, exit_point TEXT, PRIMARY KEY (experiment_index, cell_index, path)) WITHOUT ROWID")
        for c in range(cells):
            db.execute("BEGIN IMMEDIATE")
            db.executemany("INSERT INTO sample VALUES (?, ?, ?, ?, ?, ?, ?)",
                           [(0, c, p, 100 + p, 0.1 * p, "|x| > 0.5", "[0.5000001]") for p in range(PATHS)])
            db.execute("INSERT INTO cell VALUES (?, ?, ?, ?, ?, ?)", (c, 0, c, cell_json, PATHS, "0123456789abcdef"))
            db.execute("COMMIT")
        db.close()
        best = min(best, time.perf_counter() - start)
    return best


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--cli", required=True, help="the sgd-escape binary")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args()
    cli = os.path.abspath(args.cli)

    lines = [
        "| job (tiny cells: 10 paths each, 1 thread) | without `--out` | with `--out` | **with / without** | store cost per cell | Python sqlite3, same rows, commit per cell |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    ratios = []
    with tempfile.TemporaryDirectory() as work:
        for shape in [(40, 25), (100, 100)]:
            cells = shape[0] * shape[1]
            bare, stored = cli_times(cli, work, shape, args.repeats)
            peer = sqlite_peer(work, cells, args.repeats)
            ratios.append(stored / bare)
            lines.append(f"| {cells:,} cells | {bare:.3f} s | {stored:.3f} s | **{stored / bare:.2f}×** | "
                         f"{(stored - bare) / cells * 1e3:.3f} ms | {peer / cells * 1e3:.3f} ms per cell |")
    stamp = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    header = (f"Measured {stamp} on {platform.machine()} with {os.cpu_count()} cores, whole processes, best of "
              f"{args.repeats}, load average {os.getloadavg()[0]:.1f} at the end. Target (issue 13): 1,000 tiny cells "
              f"with `--out` at most 3× without, a stored tiny cell ≤ 1 ms: "
              f"{'met' if ratios[0] <= 3 else 'NOT met'}.")
    table = "\n".join(lines)
    print(header)
    print(table)
    if not args.no_write:
        readme = os.path.join(HERE, "README.md")
        text = open(readme).read()
        begin, end = "<!-- STORE BEGIN -->", "<!-- STORE END -->"
        i, j = text.index(begin) + len(begin), text.index(end)
        open(readme, "w").write(text[:i] + "\n" + header + "\n\n" + table + "\n" + text[j:])


if __name__ == "__main__":
    main()
