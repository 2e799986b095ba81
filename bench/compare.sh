#!/usr/bin/env bash
# Side-by-side timing of Spinecast's predictors and the reference tools on
# the same generated data. Usage (from anywhere):
#
#   bench/compare.sh                 # 10,000 and 100,000 rows × 50 features
#   bench/compare.sh 10000           # one size
#
# Environment:
#   RESULTS=dir          where CSVs, JSON and logs go (default bench/results/<UTC time>)
#   TEST_ROWS=10000      held-out rows for the AUC checks
#   TOOL_TIMEOUT=1800    seconds before any one tool run is stopped
#   GOLEARN_TIMEOUT=...  the same for golearn's forest (default TOOL_TIMEOUT)
#   GOLEARN_MEM_KB=10000000  virtual-memory cap (ulimit -v) for golearn, whose
#                        memory grows with rows × trees (1.1 GB at 10k rows)
#   SKIP="golearn ranger_minnode1"   tools to leave out (names as in the table;
#                        golearn_extras: the LogisticRegression and seeding checks
#                        otherwise run at the first size)
#   ONLY="spinecast"     run only these tools, keeping the other JSON files
#                        already in RESULTS (to redo one tool after a change)
#
# Each tool writes <tool>_<rows>.json; scripts/report.py turns them into the
# table (ratio = theirs / ours, above 1 means Spinecast is faster). A tool
# that is not installed, fails or times out is reported as such, never
# silently dropped.
set -uo pipefail

BENCH=$(cd "$(dirname "$0")" && pwd)
# a relative RESULTS is relative to where the script was started from
case ${RESULTS:-} in '' | /*) ;; *) RESULTS=$PWD/$RESULTS ;; esac
cd "$BENCH"
SIZES=("$@")
[ ${#SIZES[@]} -eq 0 ] && SIZES=(10000 100000)
RESULTS=${RESULTS:-$BENCH/results/$(date -u +%Y%m%dT%H%M%SZ)}
TEST_ROWS=${TEST_ROWS:-10000}
TOOL_TIMEOUT=${TOOL_TIMEOUT:-1800}
GOLEARN_TIMEOUT=${GOLEARN_TIMEOUT:-$TOOL_TIMEOUT}
SKIP=${SKIP:-}
ONLY=${ONLY:-}
GOLEARN_MEM_KB=${GOLEARN_MEM_KB:-10000000}
PY=/usr/bin/python3 # Debian's python3 has scikit-learn; the pyenv one first on PATH does not
mkdir -p "$RESULTS" bin

log() { printf '%s  %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; }
skipped() { case " $SKIP " in *" $1 "*) return 0 ;; esac; return 1; }
# keep TOOL: true when ONLY is set and leaves TOOL out (its old result stays).
keep() { [ -n "$ONLY" ] && case " $ONLY " in *" $1 "*) return 1 ;; esac; }

# note TOOL N MESSAGE: record why a tool has no figures.
note() { printf '{"tool": "%s", "skipped": "%s"}\n' "$1" "$3" >"$RESULTS/$1_$2.json"; log "$1 ($2 rows): $3"; }
fail() { "$PY" -c 'import json,sys; print(json.dumps({"tool": sys.argv[1], "error": sys.argv[2]}))' "$1" "$3" >"$RESULTS/$1_$2.json"; log "$1 ($2 rows) FAILED: $3"; }

# run TOOL N TIMEOUT CMD...: run CMD with a time limit, peak memory in
# TOOL_N.time, output in TOOL_N.log; a failure is recorded in TOOL_N.json.
run() {
	local tool=$1 n=$2 limit=$3
	shift 3
	log "$tool ($n rows)..."
	local timer=()
	[ -x /usr/bin/time ] && timer=(/usr/bin/time -f '%e s elapsed, %M KB peak RSS' -o "$RESULTS/${tool}_$n.time")
	"${timer[@]}" timeout -k 10 "$limit" "$@" >"$RESULTS/${tool}_$n.log" 2>&1
	local rc=$?
	if [ $rc -eq 124 ]; then
		fail "$tool" "$n" "did not finish within ${limit} s"
	elif [ $rc -ne 0 ]; then
		fail "$tool" "$n" "exit status $rc: $(grep -v '^\s*$' "$RESULTS/${tool}_$n.log" | grep -iE 'panic|error|fatal|killed' | head -3 | tr '\n"' ' ' | cut -c1-300)"
	elif [ ! -s "$RESULTS/${tool}_$n.json" ]; then
		fail "$tool" "$n" "no output; see ${tool}_$n.log"
	fi
	[ -f "$RESULTS/${tool}_$n.time" ] && log "  $(tail -1 "$RESULTS/${tool}_$n.time")"
	echo "load average after $tool ($n rows): $(cut -d' ' -f1-3 /proc/loadavg)" >>"$RESULTS/environment.txt"
}

{
	echo "date: $(date -u '+%Y-%m-%d %H:%M:%S UTC')"
	echo "nproc: $(nproc)"
	echo "cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //')"
	echo "load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
	echo "go: $(go version)"
	command -v Rscript >/dev/null && echo "R: $(Rscript -e 'cat(R.version.string)' 2>/dev/null)"
	echo "python: $("$PY" --version 2>&1)"
} | tee -a "$RESULTS/environment.txt" >&2

log "building the Go tools"
# bench/go.mod inherits the main module's requirements through the replace
# directive, so a change to ../go.mod can leave it stale.
if ! go mod tidy -diff >/dev/null 2>&1; then
	log "bench/go.mod is out of date with the main module's; run: (cd bench && go mod tidy)"
	exit 1
fi
go build -o bin/ ./cmd/gendata ./cmd/spinebench || { log "cannot build gendata/spinebench"; exit 1; }
# The predictors source the spinecast figures come from (it may change
# between sizes: spinebench is rebuilt just before each of its runs).
fingerprint() { ls ../predictors/*.go | grep -v '_test.go$' | xargs cat | sha256sum | cut -c1-16; }
GOLEARN_BUILD=""
if ! go build -o bin/ ./cmd/golearnbench 2>"$RESULTS/golearn_build.log"; then
	GOLEARN_BUILD="golearnbench does not build: $(head -3 "$RESULTS/golearn_build.log" | tr '\n"' ' ')"
	log "$GOLEARN_BUILD"
fi

have_r_pkg() { command -v Rscript >/dev/null && Rscript -e "quit(status = !requireNamespace('$1', quietly = TRUE))" >/dev/null 2>&1; }

first=1
for n in "${SIZES[@]}"; do
	train="$RESULTS/train_$n.csv" test="$RESULTS/test_$n.csv"
	log "generating $n × 50 (+ $TEST_ROWS test rows)"
	bin/gendata -n "$n" -seed 1 -out "$train" -test-n "$TEST_ROWS" -test-out "$test" >"$RESULTS/data_$n.json" || exit 1
	echo "load average before n=$n: $(cut -d' ' -f1-3 /proc/loadavg)" >>"$RESULTS/environment.txt"

	if keep glmnet; then :
	elif skipped glmnet; then note glmnet "$n" "left out (SKIP)"
	elif have_r_pkg glmnet; then run glmnet "$n" "$TOOL_TIMEOUT" Rscript scripts/glmnet.R "$train" "$test" "$RESULTS/glmnet_$n.json" 3
	else note glmnet "$n" "R package glmnet not installed (apt-get install r-cran-glmnet)"; fi

	if keep ranger; then :
	elif skipped ranger; then note ranger "$n" "left out (SKIP)"
	elif have_r_pkg ranger; then run ranger "$n" "$TOOL_TIMEOUT" Rscript scripts/ranger.R "$train" "$test" "$RESULTS/ranger_$n.json"
	else note ranger "$n" "R package ranger not installed (apt-get install r-cran-ranger)"; fi

	if keep ranger_minnode1; then :
	elif skipped ranger_minnode1; then note ranger_minnode1 "$n" "left out (SKIP)"
	elif have_r_pkg ranger; then run ranger_minnode1 "$n" "$TOOL_TIMEOUT" Rscript scripts/ranger.R "$train" "$test" "$RESULTS/ranger_minnode1_$n.json" 1
	else note ranger_minnode1 "$n" "R package ranger not installed"; fi

	if keep sklearn; then :
	elif skipped sklearn; then note sklearn "$n" "left out (SKIP)"
	elif "$PY" -c 'import sklearn' 2>/dev/null; then run sklearn "$n" "$TOOL_TIMEOUT" "$PY" scripts/sklearn_rf.py "$train" "$test" "$RESULTS/sklearn_$n.json"
	else note sklearn "$n" "scikit-learn not importable by $PY (apt-get install python3-sklearn)"; fi

	if keep golearn; then :
	elif skipped golearn; then note golearn "$n" "left out (SKIP)"
	elif [ -n "$GOLEARN_BUILD" ]; then fail golearn "$n" "$GOLEARN_BUILD"
	else
		(
			ulimit -v "$GOLEARN_MEM_KB"
			GOMAXPROCS=2 run golearn "$n" "$GOLEARN_TIMEOUT" bin/golearnbench -train "$train" -test "$test" -trees 500 -out "$RESULTS/golearn_$n.json"
		)
		if [ $first -eq 1 ] && ! skipped golearn_extras; then
			# golearn's logistic regression: once with Go's default cgo pointer
			# checks, once with them off (to see what it does with negatives).
			run golearnlogistic-cgocheck1 "$n" "$TOOL_TIMEOUT" bin/golearnbench -logistic -train "$train" -test "$test" -out "$RESULTS/golearnlogistic-cgocheck1_$n.json"
			GODEBUG=cgocheck=0 run golearnlogistic-cgocheck0 "$n" "$TOOL_TIMEOUT" bin/golearnbench -logistic -train "$train" -test "$test" -out "$RESULTS/golearnlogistic-cgocheck0_$n.json"
			# Reproducibility: two 50-tree forests after math/rand.Seed(42), with
			# the Go 1.24+ no-op Seed switched back on (randseednop=0).
			for k in a b; do
				GOMAXPROCS=2 GODEBUG=randseednop=0 run golearnseed-$k "$n" "$TOOL_TIMEOUT" bin/golearnbench -trees 50 -global-seed 42 -train "$train" -test "$test" -out "$RESULTS/golearnseed-${k}_$n.json"
			done
		fi
	fi

	# Ours last, rebuilt now, so that a long run measures the newest code.
	if ! keep spinecast; then
		if go build -o bin/ ./cmd/spinebench; then
			echo "predictors source fingerprint for spinecast ($n rows): $(fingerprint), newest non-test file $(ls -t ../predictors/*.go | grep -v '_test.go$' | head -1 | xargs stat -c '%y %n')" >>"$RESULTS/environment.txt"
			run spinecast "$n" "$TOOL_TIMEOUT" bin/spinebench -train "$train" -test "$test" -workers 2 -out "$RESULTS/spinecast_$n.json"
		else
			fail spinecast "$n" "spinebench does not build against ../predictors"
		fi
	fi
	first=0
done

{
	echo '```'
	cat "$RESULTS/environment.txt"
	echo '```'
	"$PY" scripts/report.py "$RESULTS"
	for f in "$RESULTS"/golearnlogistic-*.json; do
		[ -f "$f" ] || continue
		echo
		echo "golearn LogisticRegression, $(basename "$f" .json):"
		echo '```'
		"$PY" -c 'import json,sys; d=json.load(open(sys.argv[1])); d["fit_panic"]=d.get("fit_panic","").split("\n")[0]; print(json.dumps({k: v for k, v in d.items() if v != ""}, indent=2))' "$f"
		echo '```'
	done
	for f in "$RESULTS"/golearnseed-a_*.json; do
		[ -f "$f" ] || continue
		g=${f/golearnseed-a_/golearnseed-b_}
		echo
		echo "golearn RandomForest reproducibility (50 trees, math/rand.Seed(42), GODEBUG=randseednop=0, two runs):"
		"$PY" -c 'import json,sys
a, b = (json.load(open(p)) for p in sys.argv[1:])
if a.get("error") or b.get("error"):
    print("  run failed:", a.get("error") or b.get("error"))
else:
    same = a["test_labels_sha256"] == b["test_labels_sha256"]
    print("  test accuracy %.4f vs %.4f; predicted labels %s" % (a["forest_test_accuracy"], b["forest_test_accuracy"], "IDENTICAL" if same else "DIFFER"))' "$f" "$g"
	done
} | tee "$RESULTS/report.md"
log "results in $RESULTS"
