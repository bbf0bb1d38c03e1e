#!/usr/bin/env python3
"""scikit-learn's side of bench/train-vs-sklearn.sh, and the report of a run.

Subcommands (the shell script calls them; each is usable on its own):

  generate  writes the synthetic and accuracy-suite CSVs, or reuses them when a
            manifest says they were made with the same settings;
  fit       fits RandomForestClassifier on one training CSV, scores one test CSV and
            writes the timings, accuracy and peak RSS as JSON;
  accuracy  the accuracy suite's scikit-learn side: every train/test pair of suite.tsv;
  report    gathers a run directory into one JSON file and prints a Markdown report.

Runs in the benchmark's venv (numpy, scikit-learn 1.7, pandas). The heavy imports sit
inside the functions that need them, so `report` starts instantly and `fit` pays for
its imports where a user of scikit-learn would: in the whole-process time.
"""

import time

PROCESS_START = time.perf_counter()

# The imports below come after the clock, so `fit` can report what they cost.
import argparse
import json
import math
import os
import platform
import re
import resource
import subprocess
import sys
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path

# Bumped whenever generated files would change, so `generate` rewrites them.
GENERATOR_VERSION = 1
# The seed of the synthetic data; the forests' seeds are separate (SPEED_SEED, --seeds).
DATA_SEED = 7
# The forests' seed in the speed cases (both sides get the same one).
SPEED_SEED = 42
CLASS_NAMES = ("amber", "blue", "coral")
SUITE_TEST_FRACTION = 0.25


@dataclass(frozen=True)
class Family:
    """Synthetic sets that share a feature count and a distribution: one
    make_classification call, training sets are prefixes of it (so a smaller set is a
    sample of the same distribution as a larger one) and the test set is its tail."""

    features: int
    sizes: tuple
    test_rows: int
    trees: int


# 10k -> 100k -> 1M is the n·log n curve. Both feature counts get 2 features per split
# (floor(sqrt(4)) = floor(sqrt(8)) = 2, both learners' default), so the split search
# costs about the same per row and the 1M set continues the 4-feature curve.
FAMILIES = (
    Family(features=4, sizes=(10_000, 100_000), test_rows=10_000, trees=100),
    Family(features=8, sizes=(1_000_000,), test_rows=100_000, trees=20),
)


def human(n):
    """10000 -> "10k", 1000000 -> "1m": short, file-name safe row counts."""
    for unit, size in (("m", 1_000_000), ("k", 1_000)):
        if n >= size and n % size == 0:
            return f"{n // size}{unit}"
    return str(n)


def families(quick):
    """The synthetic families, 10x smaller in quick mode."""
    if not quick:
        return FAMILIES
    return tuple(
        Family(f.features, tuple(s // 10 for s in f.sizes), f.test_rows // 10, f.trees) for f in FAMILIES
    )


def maxrss_mb():
    """This process's peak RSS so far, in MB (Linux reports ru_maxrss in KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 / 1e6


def write_csv(path, X, labels, feature_names, float_format):
    """Writes features and a last `label` column through pandas' C writer (numpy's
    savetxt takes minutes for a million rows); atomically, so an interrupted run
    leaves no half file that a later run would reuse."""
    import pandas as pd

    frame = pd.DataFrame(X, columns=feature_names)
    frame["label"] = labels
    tmp = path.with_name(path.name + ".tmp")
    frame.to_csv(tmp, index=False, float_format=float_format, lineterminator="\n")
    tmp.replace(path)


def load_xy(path):
    """Reads a CSV written by `generate`: features as float64, the last column as
    class-name strings."""
    import numpy as np
    import pandas as pd

    frame = pd.read_csv(path)
    y = frame.pop(frame.columns[-1]).astype(str).to_numpy()
    return frame.to_numpy(dtype=np.float64), y


# ---------------------------------------------------------------------------- generate


def generate_synthetic(out, quick):
    """Writes each family's training prefixes and test tail; returns the case rows of
    cases.tsv."""
    import numpy as np
    from sklearn.datasets import make_classification

    cases = []
    for fam in families(quick):
        total = max(fam.sizes) + fam.test_rows
        X, y = make_classification(
            n_samples=total,
            n_features=fam.features,
            n_informative=fam.features // 2 + 1,
            n_redundant=fam.features // 4,
            n_repeated=0,
            n_classes=len(CLASS_NAMES),
            n_clusters_per_class=2,
            class_sep=0.8,  # overlapping classes: test accuracy about 0.82
            flip_y=0.03,
            shuffle=True,
            random_state=DATA_SEED,
        )
        labels = np.asarray(CLASS_NAMES)[y]
        names = [f"f{i}" for i in range(fam.features)]
        test = out / f"synth-x{fam.features}-test-{human(fam.test_rows)}.csv"
        write_csv(test, X[-fam.test_rows :], labels[-fam.test_rows :], names, "%.6g")
        for size in fam.sizes:
            train = out / f"synth-x{fam.features}-{human(size)}.csv"
            write_csv(train, X[:size], labels[:size], names, "%.6g")
            name = f"{human(size)}-x{fam.features}"
            cases.append((name, size, fam.features, fam.trees, train, test))
    return cases


def suite_loaders():
    """The accuracy suite: small real data sets that ship inside scikit-learn."""
    from sklearn import datasets

    return {
        "iris": datasets.load_iris,
        "wine": datasets.load_wine,
        "breast_cancer": datasets.load_breast_cancer,
        "digits": datasets.load_digits,
    }


def generate_suite(out, seeds):
    """Writes each suite data set whole (for mlops' own split) and split in three
    stratified ways; returns the rows of suite.tsv."""
    import numpy as np
    from sklearn.model_selection import train_test_split

    out.mkdir(parents=True, exist_ok=True)
    rows = []
    for name, load in suite_loaders().items():
        bunch = load()
        features = [re.sub(r"[^0-9A-Za-z]+", "_", f).strip("_") for f in bunch.feature_names]
        classes = [str(c) if name != "digits" else f"digit_{c}" for c in bunch.target_names]
        labels = np.asarray(classes)[bunch.target]
        whole = out / f"{name}-all.csv"
        write_csv(whole, bunch.data, labels, features, "%.10g")
        for seed in seeds:
            X_tr, X_te, y_tr, y_te = train_test_split(
                bunch.data,
                labels,
                test_size=SUITE_TEST_FRACTION,
                stratify=labels,
                random_state=seed,
            )
            train = out / f"{name}-s{seed}-train.csv"
            test = out / f"{name}-s{seed}-test.csv"
            write_csv(train, X_tr, y_tr, features, "%.10g")
            write_csv(test, X_te, y_te, features, "%.10g")
            rows.append((name, seed, train, test, whole))
    return rows


def write_tsv(path, rows):
    path.write_text("".join("\t".join(str(c) for c in row) + "\n" for row in rows))


def cmd_generate(args):
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    wanted = {
        "generator_version": GENERATOR_VERSION,
        "scikit_learn": metadata.version("scikit-learn"),
        "quick": args.quick,
        "seeds": args.seeds,
        "families": [asdict(f) | {"sizes": list(f.sizes)} for f in families(args.quick)],
    }
    manifest = out / "manifest.json"
    files_there = (out / "cases.tsv").exists() and (out / "suite.tsv").exists()
    if files_there and manifest.exists() and json.loads(manifest.read_text()) == wanted:
        print(f"reusing the data in {out} (same settings as its manifest.json)", file=sys.stderr)
        return
    manifest.unlink(missing_ok=True)
    started = time.perf_counter()
    write_tsv(out / "cases.tsv", generate_synthetic(out, args.quick))
    write_tsv(out / "suite.tsv", generate_suite(out / "suite", args.seeds))
    manifest.write_text(json.dumps(wanted, indent=2) + "\n")
    print(f"generated the data in {out} in {time.perf_counter() - started:.1f} s", file=sys.stderr)


# ---------------------------------------------------------------------- fit, accuracy


def forest(trees, seed):
    from sklearn.ensemble import RandomForestClassifier

    # Defaults match mlops' own: fully grown trees, bootstrap, gini, sqrt(features).
    return RandomForestClassifier(n_estimators=trees, n_jobs=-1, random_state=seed)


def cmd_fit(args):
    import numpy as np
    import sklearn  # noqa: F401  (timed with the other imports)
    from sklearn.ensemble import RandomForestClassifier  # noqa: F401

    imported = time.perf_counter()
    X, y = load_xy(args.train)
    X_test, y_test = load_xy(args.test)
    loaded = time.perf_counter()
    rss_before_fit = maxrss_mb()
    model = forest(args.trees, args.seed)
    fit_start, fit_cpu_start = time.perf_counter(), time.process_time()
    model.fit(X, y)
    fit_s = time.perf_counter() - fit_start
    fit_cpu_s = time.process_time() - fit_cpu_start
    score_start = time.perf_counter()
    accuracy = model.score(X_test, y_test)
    score_s = time.perf_counter() - score_start
    result = {
        "train": str(args.train),
        "test": str(args.test),
        "train_rows": int(X.shape[0]),
        "test_rows": int(X_test.shape[0]),
        "features": int(X.shape[1]),
        "trees": args.trees,
        "seed": args.seed,
        "n_jobs": -1,
        "import_s": imported - PROCESS_START,
        "load_s": loaded - imported,
        "fit_s": fit_s,
        "fit_cpu_s": fit_cpu_s,
        "score_s": score_s,
        "test_accuracy": accuracy,
        "mean_nodes_per_tree": float(np.mean([e.tree_.node_count for e in model.estimators_])),
        "peak_rss_before_fit_mb": rss_before_fit,
        "peak_rss_mb": maxrss_mb(),
    }
    Path(args.out).write_text(json.dumps(result, indent=2) + "\n")
    print(f"scikit-learn fit {fit_s:.2f} s, test accuracy {accuracy:.4f}", file=sys.stderr)


def read_tsv(path):
    return [line.split("\t") for line in Path(path).read_text().splitlines() if line]


def cmd_accuracy(args):
    results = []
    for dataset, seed, train, test, _whole in read_tsv(args.suite):
        X, y = load_xy(train)
        X_test, y_test = load_xy(test)
        model = forest(args.trees, int(seed)).fit(X, y)
        results.append(
            {
                "dataset": dataset,
                "seed": int(seed),
                "train_rows": int(X.shape[0]),
                "test_rows": int(X_test.shape[0]),
                "test_accuracy": model.score(X_test, y_test),
            }
        )
    Path(args.out).write_text(json.dumps(results, indent=2) + "\n")


# ------------------------------------------------------------------------------ report


def parse_gnu_time(path):
    """The figures of `/usr/bin/time -v`'s report: wall, user, system seconds, peak RSS."""
    if not path.exists():
        return {}
    out = {}
    for line in path.read_text().splitlines():
        key, _, value = line.strip().rpartition(": ")
        if key.startswith("Elapsed (wall clock) time"):
            seconds = 0.0
            for part in value.split(":"):
                seconds = seconds * 60 + float(part)
            out["wall_s"] = seconds
        elif key == "Maximum resident set size (kbytes)":
            out["peak_rss_mb"] = int(value) * 1024 / 1e6
        elif key == "User time (seconds)":
            out["user_s"] = float(value)
        elif key == "System time (seconds)":
            out["system_s"] = float(value)
    return out


def read_json(path):
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def outcome(directory, prefix):
    """What happened to one timed process of the shell script: its status (ok, did not
    finish, failed, not run), exit code, GNU time figures and the load before it."""
    status_file = directory / f"{prefix}.status"
    if not status_file.exists():
        return {"status": "not run"}
    code = int(status_file.read_text().strip() or 1)
    # timeout(1) exits 124 after its TERM, 137 after the KILL that follows if needed.
    status = "ok" if code == 0 else "did not finish" if code in (124, 137) else "failed"
    result = {"status": status, "exit_code": code} | parse_gnu_time(directory / f"{prefix}.time")
    load = directory / f"{prefix}.load"
    if load.exists():
        result["load_average_before"] = " ".join(load.read_text().split()[:3])
    return result


def metrics_figures(metrics):
    """The figures the report uses from mlops' metrics.json, those that it has."""
    figures = {k: metrics[k] for k in ("test_accuracy", "train_rows", "test_rows") if k in metrics}
    if isinstance(metrics.get("training_time_ms"), (int, float)):
        figures["training_time_s"] = metrics["training_time_ms"] / 1000
    return figures


def gather_case(run, row):
    name, rows, features, trees, train, test = row
    directory = run / f"case-{name}"
    mlops = outcome(directory, "mlops")
    metrics = read_json(directory / "mlops-out" / "metrics.json")
    if mlops["status"] == "ok" and metrics:
        mlops |= metrics_figures(metrics)
    sklearn = outcome(directory, "sklearn")
    if sklearn["status"] == "ok":
        sklearn |= read_json(directory / "sklearn.json") or {}
    return {
        "case": name,
        "rows": int(rows),
        "features": int(features),
        "trees": int(trees),
        "train_file": train,
        "test_file": test,
        "mlops": mlops,
        "sklearn": sklearn,
    }


def gather_suite(run, rows):
    sklearn = {(r["dataset"], r["seed"]): r for r in read_json(run / "suite" / "sklearn.json") or []}
    results = []
    for dataset, seed, *_files in rows:
        directory = run / "suite" / f"{dataset}-s{seed}"
        mlops = outcome(directory, "mlops")
        metrics = read_json(directory / "mlops-out" / "metrics.json")
        if mlops["status"] == "ok" and metrics:
            mlops |= metrics_figures(metrics)
        results.append(
            {
                "dataset": dataset,
                "seed": int(seed),
                "mlops": mlops,
                "sklearn": sklearn.get((dataset, int(seed)), {"status": "not run"}),
            }
        )
    return results


def gather_iris(run):
    """The Iris runs of the whole process: wall times in ms (bash's clock) and the peak
    RSS of the run under GNU time; None when mlops did not run."""
    walls = run / "iris" / "wall_ms"
    if not walls.exists():
        return None
    ms = sorted(float(x) for x in walls.read_text().split())
    return {
        "runs": len(ms),
        "median_ms": ms[len(ms) // 2],
        "min_ms": ms[0],
        "max_ms": ms[-1],
        "peak_rss_mb": outcome(run / "iris", "mlops").get("peak_rss_mb"),
    }


def iris_line(iris):
    if not iris:
        return []
    rss = "—" if iris["peak_rss_mb"] is None else f"{iris['peak_rss_mb']:.1f}"
    return [
        "",
        (
            f"Iris (150 rows, 100 trees), the whole `mlops train` process: median **{iris['median_ms']:.1f} ms** "
            f"over {iris['runs']} runs ({iris['min_ms']:.1f}–{iris['max_ms']:.1f} ms, bash's clock around "
            f"each process), peak RSS **{rss} MB** (`/usr/bin/time -v`, one more run)."
        ),
    ]


def command_line(args):
    try:
        return subprocess.run(args, check=False, capture_output=True, text=True, timeout=30).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def machine(run, mlops_bin):
    cpu = "unknown"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    before = run / "loadavg.before"
    return {
        "date_utc": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "nproc": len(os.sched_getaffinity(0)),
        "cpu": cpu,
        "kernel": platform.release(),
        "memory_gib": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1),
        "rustc": command_line(["rustc", "--version"]),
        "mlops": command_line([mlops_bin, "--version"]) if mlops_bin else "not run",
        "python": platform.python_version(),
        "scikit_learn": metadata.version("scikit-learn"),
        "numpy": metadata.version("numpy"),
        "pandas": metadata.version("pandas"),
        "load_average_before": " ".join(before.read_text().split()[:3]) if before.exists() else "",
        "load_average_after": " ".join(Path("/proc/loadavg").read_text().split()[:3]),
    }


def seconds(x):
    if x is None:
        return "—"
    return f"{x:.0f}" if x >= 100 else f"{x:.1f}" if x >= 10 else f"{x:.2f}" if x >= 1 else f"{x:.3f}"


def megabytes(x):
    return "—" if x is None else f"{x:.0f}"


def cell(side, key, fmt, timeout, says_why=True):
    """A table cell: the figure, or why there is none (said once per side and row)."""
    if side["status"] != "ok" and not says_why:
        return "—"
    if side["status"] == "did not finish":
        return f"did not finish (> {timeout})"
    if side["status"] == "failed":
        return f"failed (exit {side['exit_code']})"
    if side["status"] == "not run":
        return "not run"
    return fmt(side.get(key))


def speed_table(cases, timeout):
    lines = [
        "| case | mlops whole process s | mlops peak RSS MB | sklearn fit s | sklearn peak RSS MB | speed-up |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for c in cases:
        m, s = c["mlops"], c["sklearn"]
        speedup = "—"
        if m.get("wall_s") and s.get("fit_s") and m["status"] == s["status"] == "ok":
            speedup = f"{s['fit_s'] / m['wall_s']:.2f}×"
        label = f"{c['rows']:,} rows × {c['features']} features, {c['trees']} trees"
        lines.append(
            f"| {label} | {cell(m, 'wall_s', seconds, timeout)} | {cell(m, 'peak_rss_mb', megabytes, timeout, says_why=False)} "
            f"| {cell(s, 'fit_s', seconds, timeout)} | {cell(s, 'peak_rss_mb', megabytes, timeout, says_why=False)} | {speedup} |"
        )
    return lines


def accuracy_cell(side):
    return "—" if side.get("test_accuracy") is None else f"{side['test_accuracy']:.4f}"


def cpu_seconds(side):
    """User plus system CPU time of a whole process: unlike wall time, it hardly grows
    when other work shares the cores."""
    if "user_s" not in side or "system_s" not in side:
        return None
    return side["user_s"] + side["system_s"]


def row_counts(side):
    return f"{side['train_rows']:,} / {side['test_rows']:,}" if "train_rows" in side else "—"


def detail_table(cases):
    lines = [
        (
            "| case | mlops training s (in process) | mlops CPU s (user + sys) | mlops train / test rows "
            "| mlops test accuracy | sklearn fit CPU s | sklearn imports s | sklearn CSV load s "
            "| sklearn whole process s | sklearn peak RSS before fit MB | sklearn train / test rows "
            "| sklearn test accuracy | sklearn nodes per tree | load average before (mlops; sklearn) |"
        ),
        "| --- " * 14 + "|",
    ]
    for c in cases:
        m, s = c["mlops"], c["sklearn"]
        nodes = s.get("mean_nodes_per_tree")
        lines.append(
            f"| {c['case']} | {seconds(m.get('training_time_s'))} | {seconds(cpu_seconds(m))} | {row_counts(m)} "
            f"| {accuracy_cell(m)} | {seconds(s.get('fit_cpu_s'))} | {seconds(s.get('import_s'))} "
            f"| {seconds(s.get('load_s'))} | {seconds(s.get('wall_s'))} | {megabytes(s.get('peak_rss_before_fit_mb'))} "
            f"| {row_counts(s)} | {accuracy_cell(s)} | {'—' if nodes is None else f'{nodes:,.0f}'} "
            f"| {m.get('load_average_before', '—')}; {s.get('load_average_before', '—')} |"
        )
    return lines


def factor(a, b):
    """How many times a is b, or nothing when either is missing."""
    return "" if a is None or b is None or b == 0 else f"{a / b:.1f}×"


def curve_table(cases):
    """Seconds per tree as the rows grow tenfold, against what n·log n predicts."""
    lines = [
        "| rows | features | mlops s per tree | × vs previous | sklearn fit s per tree | × vs previous | n·log n predicts × |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    previous = None
    for c in sorted(cases, key=lambda c: c["rows"]):
        m = c["mlops"].get("training_time_s")
        s = c["sklearn"].get("fit_s")
        now = (c["rows"], None if m is None else m / c["trees"], None if s is None else s / c["trees"])
        if previous:
            n0, n1 = previous[0], now[0]
            predicted = f"{n1 * math.log(n1) / (n0 * math.log(n0)):.1f}×"
            m_factor, s_factor = factor(now[1], previous[1]), factor(now[2], previous[2])
        else:
            predicted = m_factor = s_factor = ""
        lines.append(
            f"| {c['rows']:,} | {c['features']} | {seconds(now[1])} | {m_factor} "
            f"| {seconds(now[2])} | {s_factor} | {predicted} |"
        )
        previous = now
    return lines


def suite_summary(suite):
    """Mean test accuracy per data set and side, over the seeds that finished."""
    summary = {}
    for r in suite:
        entry = summary.setdefault(r["dataset"], {"mlops": [], "sklearn": [], "rows": None, "runs": 0})
        entry["runs"] += 1
        for side in ("mlops", "sklearn"):
            if r[side].get("test_accuracy") is not None:
                entry[side].append(r[side]["test_accuracy"])
        if "train_rows" in r["sklearn"]:
            entry["rows"] = (r["sklearn"]["train_rows"], r["sklearn"]["test_rows"])
    return {
        name: {
            "seeds": e["runs"],
            "sklearn_seeds": len(e["sklearn"]),
            "sklearn_train_test_rows": e["rows"],
            "mlops_mean": sum(e["mlops"]) / len(e["mlops"]) if e["mlops"] else None,
            "sklearn_mean": sum(e["sklearn"]) / len(e["sklearn"]) if e["sklearn"] else None,
            "mlops_seeds": len(e["mlops"]),
        }
        for name, e in summary.items()
    }


def mean_cell(mean, seeds, wanted):
    """A mean accuracy, saying over how many seeds when some did not finish."""
    if mean is None:
        return "—"
    return f"{mean:.4f}" + ("" if seeds == wanted else f" ({seeds} of {wanted} seeds)")


def accuracy_table(summary):
    lines = [
        "| data set | sklearn train / test rows | mlops mean test accuracy | sklearn mean test accuracy | difference (points, mlops − sklearn) |",
        "| --- | --- | --- | --- | --- |",
    ]
    for name, e in summary.items():
        rows = (
            "—" if not e["sklearn_train_test_rows"] else "{:,} / {:,}".format(*e["sklearn_train_test_rows"])
        )
        m, s = e["mlops_mean"], e["sklearn_mean"]
        diff = "—" if m is None or s is None else f"{(m - s) * 100:+.1f}"
        mean_m = mean_cell(m, e["mlops_seeds"], e["seeds"])
        mean_s = mean_cell(s, e["sklearn_seeds"], e["seeds"])
        lines.append(f"| {name} | {rows} | {mean_m} | {mean_s} | {diff} |")
    return lines


def markdown(results):
    """The report, ready to paste into BENCHMARKS.md."""
    mach, opts = results["machine"], results["options"]
    timeout = opts["timeout"]
    out = [
        f"## Training: mlops against scikit-learn {mach['scikit_learn']}"
        + (" (QUICK: 10× smaller)" if opts["quick"] else ""),
        "",
        (
            f"Measured {mach['date_utc']} with `bench/train-vs-sklearn.sh`. Machine: {mach['nproc']} cores "
            f"({mach['cpu']}), {mach['memory_gib']} GiB, Linux {mach['kernel']}, {mach['rustc']}; "
            f"Python {mach['python']}, scikit-learn {mach['scikit_learn']}, numpy {mach['numpy']}, pandas {mach['pandas']}. "
            f"mlops: `{opts['mlops_bin']}` ({mach['mlops']}); threads: {opts['threads_note']}. "
            f"Load average before the run {mach['load_average_before']}, after {mach['load_average_after']} "
            "(other work on the machine makes every figure noisier; compare the load averages)."
        ),
        "",
        "### Speed and peak memory",
        "",
        *speed_table(results["cases"], timeout),
        *iris_line(results.get("iris")),
        "",
        (
            "mlops: the whole `mlops train` process (start, read the CSV, fit, evaluate, write the model), "
            "wall time and peak RSS from `/usr/bin/time -v`. scikit-learn: `RandomForestClassifier(n_jobs=-1).fit` "
            "alone, data already in memory (`time.perf_counter`), and the Python process's peak RSS (`ru_maxrss`, "
            "imports and data included). Speed-up = sklearn fit s ÷ mlops whole-process s: above 1 means mlops is "
            f"faster despite timing more. Forest seed {SPEED_SEED} on both sides. {opts['speed_split_note']}"
        ),
        "",
        "Details:",
        "",
        *detail_table(results["cases"]),
        "",
        "### Cost against rows (n·log n curve)",
        "",
        *curve_table(results["cases"]),
        "",
        (
            "mlops: metrics.json's `training_time_ms` (fit and evaluation, no CSV parsing) per tree; "
            "scikit-learn: fit per tree. 4 and 8 features both give 2 features per split."
        ),
    ]
    if results["suite"]:
        out += [
            "",
            "### Accuracy on real data sets",
            "",
            *accuracy_table(results["accuracy_summary"]),
            "",
            f"100 trees, seeds {', '.join(str(s) for s in opts['seeds'])}, stratified 75/25 splits. "
            + opts["suite_split_note"],
        ]
    return "\n".join(out) + "\n"


def cmd_report(args):
    run = Path(args.run_dir)
    cases = [gather_case(run, row) for row in read_tsv(run / "cases.tsv")]
    suite = gather_suite(run, read_tsv(run / "suite.tsv")) if (run / "suite.tsv").exists() else []
    options = {
        "mlops_bin": args.mlops_bin,
        "quick": args.quick,
        "timeout": args.timeout,
        "seeds": [int(s) for s in args.seeds],
        "threads_note": args.threads_note,
        "speed_split_note": args.speed_split_note,
        "suite_split_note": args.suite_split_note,
    }
    results = {
        "machine": machine(run, args.mlops_bin if args.mlops_ran else None),
        "options": options,
        "cases": cases,
        "suite": suite,
        "iris": gather_iris(run),
        "accuracy_summary": suite_summary(suite),
    }
    Path(args.out_json).write_text(json.dumps(results, indent=2) + "\n")
    report = markdown(results)
    Path(args.out_md).write_text(report)
    sys.stdout.write(report)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("generate", help="write the benchmark CSVs")
    p.add_argument("--out", required=True)
    p.add_argument("--quick", action="store_true", help="10x smaller synthetic sets")
    p.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3])
    p.set_defaults(run=cmd_generate)
    p = sub.add_parser("fit", help="time one fit")
    p.add_argument("--train", required=True)
    p.add_argument("--test", required=True)
    p.add_argument("--trees", type=int, required=True)
    p.add_argument("--seed", type=int, default=SPEED_SEED)
    p.add_argument("--out", required=True)
    p.set_defaults(run=cmd_fit)
    p = sub.add_parser("accuracy", help="the accuracy suite's scikit-learn side")
    p.add_argument("--suite", required=True, help="suite.tsv written by generate")
    p.add_argument("--trees", type=int, default=100)
    p.add_argument("--out", required=True)
    p.set_defaults(run=cmd_accuracy)
    p = sub.add_parser("report", help="gather a run directory; print Markdown")
    p.add_argument("--run-dir", required=True)
    p.add_argument("--out-json", required=True)
    p.add_argument("--out-md", required=True)
    p.add_argument("--mlops-bin", default="")
    p.add_argument("--mlops-ran", action="store_true")
    p.add_argument("--quick", action="store_true")
    p.add_argument("--timeout", default="15m")
    p.add_argument("--seeds", nargs="+", default=["1", "2", "3"])
    p.add_argument("--threads-note", default="")
    p.add_argument("--speed-split-note", default="")
    p.add_argument("--suite-split-note", default="")
    p.set_defaults(run=cmd_report)
    args = parser.parse_args()
    args.run(args)


if __name__ == "__main__":
    main()
