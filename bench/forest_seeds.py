#!/usr/bin/env python3
"""The accuracy suite with many forests per split: how much of a difference between
mlops and scikit-learn on one train/test pair is the forests' own randomness.

train-vs-sklearn.sh trains one forest per side on each split, with the split's seed as
the forest's seed. On a small test set (wine: 45 rows, one row = 2.2 points) that one
draw moves the figure by more than the 1-point target. This script keeps the same
train/test files and trains each side with forest seeds 1..N, then prints, per data set
and split, both sides' mean test accuracy over the N forests and its standard
deviation, next to the one-forest figure the suite reports (forest seed = split seed).

  target/bench-venv/bin/python bench/forest_seeds.py                 # wine, 30 forests
  target/bench-venv/bin/python bench/forest_seeds.py --datasets wine iris --forests 10

Needs the suite's files (run bench/train-vs-sklearn.sh once: it writes them and makes
the venv) and a release build of mlops (MLOPS_BIN, default target/release/mlops). Both
sides use 100 trees; mlops trains on the train file and scores the test file
(`--test-data`), as in the suite.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from sklearn_bench import forest, load_xy, read_tsv  # noqa: E402

TREES = 100


def mlops_accuracy(binary, train, test, seed):
    """`mlops train --test-data` with forest seed `seed`: metrics.json's test accuracy."""
    with tempfile.TemporaryDirectory() as out:
        command = [binary, "train", "--data", train, "--test-data", test, "--out", out,
                   "--trees", str(TREES), "--seed", str(seed), "--quiet"]
        done = subprocess.run(command, capture_output=True, text=True)
        if done.returncode != 0:
            sys.exit(f"mlops train failed ({' '.join(command)}):\n{done.stderr}")
        return json.loads((Path(out) / "metrics.json").read_text())["test_accuracy"]


def one_split(binary, train, test, split_seed, forests):
    """Both sides' accuracies on one split, for forest seeds 1..forests."""
    X, y = load_xy(train)
    X_test, y_test = load_xy(test)
    seeds = range(1, forests + 1)
    sklearn = [forest(TREES, s).fit(X, y).score(X_test, y_test) for s in seeds]
    mlops = [mlops_accuracy(binary, train, test, s) for s in seeds]
    one = split_seed - 1 if split_seed <= forests else None
    return {
        "test_rows": int(X_test.shape[0]),
        "mlops": mlops,
        "sklearn": sklearn,
        "one_forest": None if one is None else (mlops[one], sklearn[one]),
    }


def pct(x):
    return f"{100 * x:.2f}"


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--suite", default="target/bench-data/full/suite.tsv")
    parser.add_argument("--datasets", nargs="+", default=["wine"])
    parser.add_argument("--forests", type=int, default=30)
    args = parser.parse_args()
    binary = os.environ.get("MLOPS_BIN", "target/release/mlops")
    if not Path(args.suite).exists():
        sys.exit(f"{args.suite} is missing: run bench/train-vs-sklearn.sh once to write the suite")
    print(f"{args.forests} forests of {TREES} trees per side and split (forest seeds 1..{args.forests})\n")
    print("| data set | split seed | test rows | mlops mean (sd) | scikit-learn mean (sd) "
          "| difference | one forest (seed = split): mlops / scikit-learn |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    means = {}
    for dataset, seed, train, test, _whole in read_tsv(args.suite):
        if dataset not in args.datasets:
            continue
        r = one_split(binary, train, test, int(seed), args.forests)
        m, s = statistics.mean(r["mlops"]), statistics.mean(r["sklearn"])
        means.setdefault(dataset, []).append((m, s))
        one = "" if r["one_forest"] is None else " / ".join(pct(x) for x in r["one_forest"])
        print(f"| {dataset} | {seed} | {r['test_rows']} | {pct(m)} ({pct(statistics.stdev(r['mlops']))}) "
              f"| {pct(s)} ({pct(statistics.stdev(r['sklearn']))}) | {100 * (m - s):+.2f} | {one} |")
    print()
    for dataset, pairs in means.items():
        m = statistics.mean(p[0] for p in pairs)
        s = statistics.mean(p[1] for p in pairs)
        print(f"{dataset}, mean over its splits: mlops {pct(m)} %, scikit-learn {pct(s)} %, "
              f"difference {100 * (m - s):+.2f} points")


if __name__ == "__main__":
    main()
