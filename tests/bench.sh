#!/bin/sh
# make bench: time dpmlab's oracle and distance against a NumPy/SciPy reference on the same problem, in the same
# run, and print the speed ratios (reference time / dpmlab time; > 1 means dpmlab is faster).
set -e
build=$1
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
for cfg in "20000 64 8" "50000 16 2" "5000 512 16"; do
  set -- $cfg
  "$build/tests/bench_oracle" "$1" "$2" "$3" "$tmp/mu.csv" "$tmp/x.csv" "$tmp/logq.csv" >"$tmp/c.csv"
  /usr/bin/python3 tests/bench_reference.py "$tmp/mu.csv" "$tmp/x.csv" "$tmp/logq.csv" >"$tmp/py.csv"
  while IFS=, read -r name n K d sec; do
    ref=$(grep "^$name," "$tmp/py.csv" | cut -d, -f2)
    awk -v nm="$name" -v n="$n" -v K="$K" -v d="$d" -v c="$sec" -v p="$ref" \
      'BEGIN { printf "%-20s n=%-6d K=%-4d d=%-3d dpmlab %.4fs  numpy %.4fs  ratio %.1fx\n", nm, n, K, d, c, p, p / c }'
  done <"$tmp/c.csv"
done
