#!/usr/bin/env bash
# Training benchmark: `mlops train` and scikit-learn's RandomForestClassifier side by
# side, on the same files, in one run, bounded in time:
#
#   bench/train-vs-sklearn.sh                       # full size (10k, 100k, 1M rows)
#   QUICK=1 bench/train-vs-sklearn.sh               # 10x smaller: a smoke test
#   MLOPS_BIN=path/to/mlops bench/train-vs-sklearn.sh
#   ONLY=sklearn bench/train-vs-sklearn.sh          # one side only (sklearn or mlops)
#   CASES="100k-x4" SUITE=0 bench/train-vs-sklearn.sh
#
# What it does:
#   1. makes (or reuses) a venv with scikit-learn 1.7 and pandas (BENCH_VENV, default
#      target/bench-venv), through pip; fails if it cannot;
#   2. writes deterministic CSVs into target/bench-data/{full,quick} (reused on later
#      runs): make_classification data with 3 overlapping classes, 10k and 100k rows x 4
#      features and 1M rows x 8 features, each with a held-out test file; and Iris, wine,
#      breast cancer and digits (shipped inside scikit-learn) split three ways;
#   3. speed: per case, the whole `mlops train` process (wall time and peak RSS from
#      /usr/bin/time -v) and scikit-learn's fit alone (perf_counter around fit, data
#      already loaded; the Python process's ru_maxrss), same trees, same files; and mlops
#      on Iris (data/iris.csv) 21 times with bash's clock, once more under GNU time for
#      the peak RSS (GNU time resolves 10 ms only);
#   4. accuracy: both learners on the same train/test files for seeds 1 2 3; when the
#      binary has no --test-data, mlops splits the whole data set itself
#      (--test-fraction) and the report says so;
#   5. prints a Markdown report (tables, machine, date) and keeps it, the raw results as
#      JSON and every log under target/bench-results/.
# Each process runs under `timeout` (CASE_TIMEOUT, default 15m) and is reported as "did
# not finish" when it runs out. Other variables: THREADS (mlops --threads, when the
# binary has it; default nproc), SEEDS (default "1 2 3"), PYTHON (the interpreter that
# makes the venv), BENCH_DATA, BENCH_RESULTS.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

MLOPS_BIN=${MLOPS_BIN:-target/release/mlops}
BENCH_VENV=${BENCH_VENV:-target/bench-venv}
BENCH_DATA=${BENCH_DATA:-target/bench-data}
BENCH_RESULTS=${BENCH_RESULTS:-target/bench-results}
PYTHON=${PYTHON:-python3}
QUICK=${QUICK:-0}
ONLY=${ONLY:-both}
CASES=${CASES:-}
SUITE=${SUITE:-1}
SEEDS=${SEEDS:-1 2 3}
CASE_TIMEOUT=${CASE_TIMEOUT:-15m}
THREADS=${THREADS:-$(nproc)}

die() { echo "train-vs-sklearn: $*" >&2; exit 1; }
say() { echo "train-vs-sklearn: $*" >&2; }

case $ONLY in both | sklearn | mlops) ;; *) die "ONLY must be both, sklearn or mlops, not '$ONLY'" ;; esac
read -r -a seeds <<<"$SEEDS"
[ "${#seeds[@]}" -gt 0 ] || die "SEEDS is empty"
run_mlops=1 run_sklearn=1
if [ "$ONLY" = sklearn ]; then run_mlops=0; fi
if [ "$ONLY" = mlops ]; then run_sklearn=0; fi

# --- tools --------------------------------------------------------------------------
if [ ! -x /usr/bin/time ]; then
  say "/usr/bin/time is missing; installing Debian's 'time' package"
  if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null; then die "install GNU time (Debian: apt-get install -y time)"; fi
  apt-get install -y time >/dev/null || { apt-get update >/dev/null && apt-get install -y time >/dev/null; } ||
    die "could not install GNU time (apt-get install -y time)"
fi
command -v timeout >/dev/null || die "timeout (coreutils) is missing"

# --- the mlops binary and what its `train` accepts -------------------------------------
has_test_data=0 has_threads=0
if [ "$run_mlops" = 1 ]; then
  [ -x "$MLOPS_BIN" ] || die "no mlops binary at '$MLOPS_BIN': run 'cargo build --release' or set MLOPS_BIN"
  MLOPS_BIN=$(realpath "$MLOPS_BIN")
  help=$("$MLOPS_BIN" train --help) || die "'$MLOPS_BIN train --help' failed"
  grep -qE -- '--test-data( |=|$)' <<<"$help" && has_test_data=1
  grep -qE -- '--threads( |=|$)' <<<"$help" && has_threads=1
  [ "$has_test_data" = 1 ] ||
    say "NOTE: $MLOPS_BIN has no --test-data: mlops evaluates on its own split (--test-fraction), not on the shared test files"
fi
threads_args=()
threads_note="scikit-learn n_jobs=-1; mlops has no --threads flag"
if [ "$run_mlops" = 0 ]; then threads_note="scikit-learn n_jobs=-1"; fi
if [ "$has_threads" = 1 ]; then
  threads_args=(--threads "$THREADS")
  threads_note="scikit-learn n_jobs=-1; mlops --threads $THREADS"
fi

# --- the venv ---------------------------------------------------------------------------
py=$BENCH_VENV/bin/python
venv_ok() { [ -x "$py" ] && "$py" -c 'import sklearn, pandas; assert sklearn.__version__.startswith("1.7.")' 2>/dev/null; }
if ! venv_ok; then
  say "setting up $BENCH_VENV (scikit-learn 1.7, pandas)"
  [ -x "$py" ] || "$PYTHON" -m venv "$BENCH_VENV" || die "'$PYTHON -m venv $BENCH_VENV' failed (Debian: apt-get install python3-venv)"
  "$py" -m pip install --quiet --disable-pip-version-check 'scikit-learn==1.7.*' pandas ||
    die "pip could not install scikit-learn 1.7 and pandas into $BENCH_VENV"
  venv_ok || die "$BENCH_VENV has no working scikit-learn 1.7 after pip install"
fi
bench_py=("$py" bench/sklearn_bench.py)

# --- the data -----------------------------------------------------------------------------
quick_args=()
data=$BENCH_DATA/full
if [ "$QUICK" = 1 ]; then quick_args=(--quick); data=$BENCH_DATA/quick; fi
"${bench_py[@]}" generate --out "$data" --seeds "${seeds[@]}" "${quick_args[@]}" || die "generating the data failed"

wanted=()
if [ -n "$CASES" ]; then
  read -r -a wanted <<<"$CASES"
  for name in "${wanted[@]}"; do
    cut -f1 "$data/cases.tsv" | grep -qxF -- "$name" || die "no case '$name' in $data/cases.tsv ($(cut -f1 "$data/cases.tsv" | xargs))"
  done
fi

stamp=$(date -u +%Y%m%dT%H%M%SZ)
if [ "$QUICK" = 1 ]; then stamp+=-quick; fi
run=$BENCH_RESULTS/$stamp
mkdir -p "$run/suite"
cut -d' ' -f1-3 /proc/loadavg >"$run/loadavg.before"
if [ "${#wanted[@]}" -gt 0 ]; then
  awk -F'\t' 'NR == FNR {wanted[$1]; next} $1 in wanted' <(printf '%s\n' "${wanted[@]}") "$data/cases.tsv" >"$run/cases.tsv"
else
  cp "$data/cases.tsv" "$run/cases.tsv"
fi
if [ "$SUITE" = 1 ]; then cp "$data/suite.tsv" "$run/suite.tsv"; fi

# Runs a command under timeout and GNU time; leaves <prefix>.{status,time,log,load} in
# <dir> for the report, and says how long it took.
timed() { # dir prefix command...
  local dir=$1 prefix=$2
  shift 2
  cut -d' ' -f1-3 /proc/loadavg >"$dir/$prefix.load"
  local start=$EPOCHREALTIME status=0
  timeout --kill-after=30s "$CASE_TIMEOUT" /usr/bin/time -v -o "$dir/$prefix.time" "$@" \
    >"$dir/$prefix.log" 2>&1 </dev/null || status=$?
  echo "$status" >"$dir/$prefix.status"
  local took
  took=$(awk -v a="$start" -v b="$EPOCHREALTIME" 'BEGIN {printf "%.1f", b - a}')
  case $status in
    0) say "  ${dir##*/} $prefix: ${took} s" ;;
    124 | 137) say "  ${dir##*/} $prefix: did not finish within $CASE_TIMEOUT" ;;
    *) say "  ${dir##*/} $prefix: failed (exit $status) after ${took} s; see $dir/$prefix.log" ;;
  esac
}

# --- speed and memory ------------------------------------------------------------------------
if [ "$run_mlops" = 0 ]; then
  speed_split_note="scikit-learn trains on the whole training file and scores the test file."
elif [ "$has_test_data" = 1 ]; then
  speed_split_note="Both sides train on the whole training file and score the same test file."
else
  speed_split_note="This mlops has no --test-data: it trains on 99% of the training file (--test-fraction 0.01) and scores the other 1%; scikit-learn trains on all of it and scores the test file."
fi
while IFS=$'\t' read -r name _rows _features trees train test; do
  dir=$run/case-$name
  mkdir -p "$dir"
  say "case $name ($trees trees)"
  if [ "$run_mlops" = 1 ]; then
    split_args=(--test-fraction 0.01)
    [ "$has_test_data" = 1 ] && split_args=(--test-data "$test")
    timed "$dir" mlops "$MLOPS_BIN" train --data "$train" "${split_args[@]}" --out "$dir/mlops-out" \
      --trees "$trees" --seed 42 "${threads_args[@]}"
  fi
  if [ "$run_sklearn" = 1 ]; then
    timed "$dir" sklearn "${bench_py[@]}" fit --train "$train" --test "$test" --trees "$trees" --seed 42 \
      --out "$dir/sklearn.json"
  fi
done <"$run/cases.tsv"

# --- Iris, whole process ------------------------------------------------------------------------
# Too quick for GNU time's 10 ms resolution: 21 runs timed with bash's own clock (the
# report gives the median), then one under /usr/bin/time for the peak RSS.
if [ "$run_mlops" = 1 ]; then
  say "Iris, whole process (21 runs)"
  iris=$run/iris
  mkdir -p "$iris"
  for _ in $(seq 1 21); do
    start=$EPOCHREALTIME
    "$MLOPS_BIN" train --data data/iris.csv --out "$iris/mlops-out" "${threads_args[@]}" >/dev/null 2>&1 ||
      die "mlops train failed on data/iris.csv"
    awk -v a="$start" -v b="$EPOCHREALTIME" 'BEGIN {printf "%.3f\n", (b - a) * 1000}' >>"$iris/wall_ms"
  done
  timed "$iris" mlops "$MLOPS_BIN" train --data data/iris.csv --out "$iris/mlops-out" "${threads_args[@]}"
fi

# --- accuracy suite ------------------------------------------------------------------------------
if [ "$run_mlops" = 0 ]; then
  suite_split_note="scikit-learn trains on each train file and scores its test file."
elif [ "$has_test_data" = 1 ]; then
  suite_split_note="Both sides train on the same train file and score the same test file."
else
  suite_split_note="This mlops has no --test-data: it trains on the whole data set with --test-fraction 0.25 and the same seed, i.e. its own stratified split, so its test rows differ from scikit-learn's (same sizes, different rows)."
fi
if [ "$SUITE" = 1 ]; then
  say "accuracy suite (seeds ${seeds[*]})"
  if [ "$run_mlops" = 1 ]; then
    while IFS=$'\t' read -r dataset seed train test whole; do
      dir=$run/suite/$dataset-s$seed
      mkdir -p "$dir"
      split_args=(--data "$whole" --test-fraction 0.25)
      [ "$has_test_data" = 1 ] && split_args=(--data "$train" --test-data "$test")
      timed "$dir" mlops "$MLOPS_BIN" train "${split_args[@]}" --out "$dir/mlops-out" \
        --trees 100 --seed "$seed" "${threads_args[@]}"
    done <"$run/suite.tsv"
  fi
  if [ "$run_sklearn" = 1 ]; then
    timed "$run/suite" sklearn "${bench_py[@]}" accuracy --suite "$run/suite.tsv" --trees 100 \
      --out "$run/suite/sklearn.json"
  fi
fi

# --- report ----------------------------------------------------------------------------------------
report_args=(--run-dir "$run" --out-json "$BENCH_RESULTS/$stamp.json" --out-md "$BENCH_RESULTS/$stamp.md"
  --mlops-bin "$MLOPS_BIN" --timeout "$CASE_TIMEOUT" --seeds "${seeds[@]}" --threads-note "$threads_note"
  --speed-split-note "$speed_split_note" --suite-split-note "$suite_split_note")
if [ "$run_mlops" = 1 ]; then report_args+=(--mlops-ran); fi
if [ "$QUICK" = 1 ]; then report_args+=(--quick); fi
echo
"${bench_py[@]}" report "${report_args[@]}"
say "raw results: $BENCH_RESULTS/$stamp.json, report: $BENCH_RESULTS/$stamp.md, logs: $run/"
