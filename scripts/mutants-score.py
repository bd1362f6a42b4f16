#!/usr/bin/env python3
"""Mutation score per file from cargo-mutants output folders.

    scripts/mutants-score.py [--list LIST] OUT_DIR [OUT_DIR ...]

Each OUT_DIR is a `mutants.out` folder (or a folder holding one). When several are given, a later
folder's outcome for a mutant replaces an earlier one's (so pass a full run first and its
`--iterate` runs after it). With `--list LIST` (the output of `cargo mutants --list` on the tree
being scored), only the mutants of that tree count, so a mutant removed with dead code does not.

A timeout counts as caught: a test run that never ends fails. The score is caught / viable, where
viable = caught + timeouts + missed (unviable mutants do not build and count for nothing).
"""

import json
import sys
from collections import defaultdict
from pathlib import Path


def outcomes(folder: Path):
    path = folder / "outcomes.json"
    if not path.exists():
        path = folder / "mutants.out" / "outcomes.json"
    for o in json.loads(path.read_text())["outcomes"]:
        scenario = o["scenario"]
        if not isinstance(scenario, dict) or "Mutant" not in scenario:
            continue  # the unmutated baseline
        yield scenario["Mutant"]["name"], scenario["Mutant"]["file"], o["summary"]


def main(argv):
    listed = None
    if argv[:1] == ["--list"]:
        listed = {line.strip() for line in Path(argv[1]).read_text().splitlines() if line.strip()}
        argv = argv[2:]
    if not argv:
        sys.exit(__doc__)
    latest = {}
    for folder in argv:
        for name, file, summary in outcomes(Path(folder)):
            latest[name] = (file, summary)
    if listed is not None:
        latest = {n: v for n, v in latest.items() if n in listed}
        untested = sorted(listed - latest.keys())
        if untested:
            print(f"{len(untested)} listed mutants have no outcome (run them first):", file=sys.stderr)
            for n in untested:
                print(f"  {n}", file=sys.stderr)
    per_file = defaultdict(lambda: defaultdict(int))
    missed = []
    for name, (file, summary) in latest.items():
        per_file[file][summary] += 1
        if summary == "MissedMutant":
            missed.append(name)
    rows = []
    total = defaultdict(int)
    for file in sorted(per_file):
        c = per_file[file]
        caught = c["CaughtMutant"] + c["Timeout"]
        viable = caught + c["MissedMutant"]
        for k, v in c.items():
            total[k] += v
        score = f"{100 * caught / viable:.1f}%" if viable else "-"
        rows.append((file, viable, caught, c["MissedMutant"], c["Unviable"], score))
    caught = total["CaughtMutant"] + total["Timeout"]
    viable = caught + total["MissedMutant"]
    print("| file | viable | caught | missed | unviable | score |")
    print("|---|---|---|---|---|---|")
    for r in rows:
        print("| {} | {} | {} | {} | {} | {} |".format(*r))
    score = f"{100 * caught / viable:.1f}%" if viable else "-"
    print(f"| **all** | {viable} | {caught} | {total['MissedMutant']} | {total['Unviable']} | **{score}** |")
    if missed:
        print("\nmissed:")
        for n in sorted(missed):
            print(f"  {n}")


if __name__ == "__main__":
    main(sys.argv[1:])
