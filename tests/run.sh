#!/bin/sh
# Run every cmocka test program, then print one closing line "N passed, N failed" over all of them. A program that
# exits non-zero without reporting a failed test (a crash, an abort, a sanitizer report, a missing binary) counts
# as one failure more, named with its exit status. Each program gets DPM_TEST_TIMEOUT seconds (default 600) and
# counts as a failure when it runs longer, so a hanging test cannot block the run. The arguments are the test
# programs (the Makefile passes $(TESTS)); this script's own logs (*.log, written beside them) are skipped if a
# glob hands them over, and anything else that is not an executable file counts as a failure.
build=$1; shift
limit=${DPM_TEST_TIMEOUT:-600}
if command -v timeout >/dev/null 2>&1; then run_limited() { timeout -k 10 "$limit" "$@"; }
else run_limited() { "$@"; }; fi
pass=0; fail=0; bad=""
for t in "$@"; do
  name=$(basename "$t")
  case $name in *.log) continue ;; esac
  if [ ! -f "$t" ] || [ ! -x "$t" ]; then
    echo "$name: not an executable test program ($t)"
    fail=$((fail + 1)); bad="$bad $name"
    continue
  fi
  log="$build/tests/$name.log"
  run_limited "$t" >"$log" 2>&1; rc=$?
  cat "$log"
  p=$(sed -n 's/^\[  PASSED  \] \([0-9]*\) test.*/\1/p' "$log" | awk '{s+=$1} END {print s+0}')
  f=$(sed -n 's/^\[  FAILED  \] \([0-9]*\) test.*/\1/p' "$log" | awk '{s+=$1} END {print s+0}')
  if [ $rc -eq 124 ]; then
    echo "$name: TIMED OUT after ${limit} s (DPM_TEST_TIMEOUT), counted as a failure"
    f=$((f + 1))
  elif [ $rc -ne 0 ] && [ "$f" = 0 ]; then
    f=1
    if [ $rc -gt 128 ]; then
      echo "$name: killed by signal $((rc - 128))"
    else
      echo "$name: exit status $rc without a failed test"
    fi
  fi
  pass=$((pass + p)); fail=$((fail + f))
  if [ $rc -ne 0 ] || [ "$f" != 0 ]; then bad="$bad $name"; fi
done
if [ -f tests/validate_notebooks.py ] && ls notebooks-export/*.ipynb >/dev/null 2>&1; then
  if /usr/bin/python3 tests/validate_notebooks.py notebooks-export/*.ipynb; then pass=$((pass + 1));
  else fail=$((fail + 1)); bad="$bad validate_notebooks"; fi
fi
[ -z "$bad" ] || echo "failing:$bad"
echo "$pass passed, $fail failed"
[ $fail -eq 0 ]
