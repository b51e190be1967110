#!/usr/bin/env bash
# Runs every suite (DESIGN §6a): unit tests and fuzz-corpus replay under ASan/UBSan,
# then the integration and interop suites against the release build.
# Every suite speaks TAP ("ok N - name" / "not ok N - name"); the last line is
# "N passed, N failed".
set -uo pipefail
cd "$(dirname "$0")/.."
JOBS=${JOBS:-2}
LOG=build/test-logs
mkdir -p "$LOG"
passed=0
failed=0
failures=()

# count_tap NAME FILE RC: adds the TAP results in FILE to the totals.
count_tap() {
  local name=$1 file=$2 rc=$3 p f
  p=$(grep -cE '^ok [0-9]+' "$file" || true)
  f=$(grep -cE '^not ok [0-9]+' "$file" || true)
  if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
    f=1
    echo "not ok - $name exited with status $rc" >> "$file"
  elif [ "$p" -eq 0 ] && [ "$f" -eq 0 ]; then
    f=1
    echo "not ok - $name ran no test" >> "$file"
  fi
  passed=$((passed + p))
  failed=$((failed + f))
  if [ "$f" -gt 0 ]; then
    failures+=("$name")
    echo "FAIL $name ($p passed, $f failed) — log: $file"
    grep -E '^not ok' "$file" | head -20 | sed 's/^/    /'
    tail -n 30 "$file" | sed 's/^/    | /'
  else
    echo "PASS $name ($p)"
  fi
}

# run_suite NAME TIMEOUT CMD...: runs one suite in its own process with a time limit.
run_suite() {
  local name=$1 limit=$2
  shift 2
  local out="$LOG/$(echo "$name" | tr '/ ' '__').log"
  CMOCKA_MESSAGE_OUTPUT=TAP timeout --kill-after=10 "$limit" "$@" > "$out" 2>&1
  count_tap "$name" "$out" $?
}

echo "== build (asan, fuzz, release)"
if ! make -j"$JOBS" MODE=asan bin unit > "$LOG/build-asan.log" 2>&1; then
  tail -50 "$LOG/build-asan.log"; echo "0 passed, 1 failed"; exit 1
fi
if ! make -j"$JOBS" fuzz > "$LOG/build-fuzz.log" 2>&1; then
  tail -50 "$LOG/build-fuzz.log"; echo "0 passed, 1 failed"; exit 1
fi
if ! make -j"$JOBS" release > "$LOG/build-release.log" 2>&1; then
  tail -50 "$LOG/build-release.log"; echo "0 passed, 1 failed"; exit 1
fi

export ASAN_OPTIONS=detect_leaks=1:abort_on_error=0:halt_on_error=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1

echo "== lint"
out="$LOG/lint.log"
if scripts/lint.sh > "$out" 2>&1; then echo "ok 1 - lint" >> "$out"; rc=0; else echo "not ok 1 - lint" >> "$out"; rc=1; fi
count_tap lint "$out" $rc

echo "== unit tests (asan)"
for t in $(find build/asan/tests -type f -perm -u+x | sort); do
  run_suite "unit/${t#build/asan/tests/}" 300 "$t"
done

echo "== fuzz corpus replay (asan+ubsan)"
for f in $(find build/fuzz -maxdepth 1 -name 'fuzz_*' -type f -perm -u+x | sort); do
  name=${f#build/fuzz/fuzz_}
  corpus=tests/fuzz/corpus/$name
  out="$LOG/fuzz_$name.log"
  if [ -d "$corpus" ]; then
    n=$(find "$corpus" -type f | wc -l)
    timeout 600 "$f" -runs=0 "$corpus" > "$out" 2>&1
    rc=$?
    # replay, then a short bounded mutation run (fixed seed) to catch fresh crashes
    if [ $rc -eq 0 ]; then
      tmpc=$(mktemp -d)
      timeout 120 "$f" -seed=1 -runs=20000 -max_len=65536 "$tmpc" "$corpus" >> "$out" 2>&1
      rc=$?
      rm -rf "$tmpc"
    fi
    if [ $rc -eq 0 ]; then echo "ok 1 - fuzz $name ($n seeds)" >> "$out"; else echo "not ok 1 - fuzz $name" >> "$out"; fi
  else
    echo "not ok 1 - fuzz $name: no seed corpus at $corpus" > "$out"
    rc=1
  fi
  count_tap "fuzz/$name" "$out" $rc
done

echo "== integration and interop (release)"
export ICEGATE_BIN=$PWD/build/icegate
export ICEGATE_TOOLS=$PWD/build/tools
export SHARED_DIR=$(cd .. && pwd)/shared
for s in $(find tests/integration -maxdepth 1 \( -name '*.sh' -o -name '*.py' \) ! -name '_*' | sort); do
  case "$s" in *.py) run_suite "$s" 900 python3 "$s" ;; *) run_suite "$s" 900 bash "$s" ;; esac
done
if [ -d tests/node/node_modules ]; then
  for s in $(find tests/interop -maxdepth 1 -name '*.mjs' ! -name '_*' | sort); do
    run_suite "$s" 900 node "$s"
  done
fi

echo
if [ ${#failures[@]} -gt 0 ]; then echo "failed suites: ${failures[*]}"; fi
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
