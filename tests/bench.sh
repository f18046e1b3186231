#!/bin/sh
# make bench: race each hot path of dpmlab against the strongest reference of the same computation
# (tests/bench_reference.py: NumPy float64 in the GEMM form with a streamed log-sum-exp, batched Cholesky; torch
# CPU float64; smalldiffusion's IdealDenoiser algorithm in torch), on the same inputs, in the same run:
#   1. the machine's limits: exp throughput (glibc scalar and libmvec), DGEMM GFLOP/s for dpmlab's environment and
#      for the references' (OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE are unset for the NumPy/torch side only, and the
#      OpenBLAS kernel each side runs is reported), and the ideal denoiser's own product kernel's GFLOP/s;
#   2. per hot path, whole processes (read the inputs, compute, write the values) interleaved A B C A B C ...,
#      BENCH_REPS rounds (default 3), medians of the wall time, peak memory from wait4 (bench_oracle time); and in-process
#      timings of the compute alone (median of BENCH_INREPS, default 3);
#   3. the values of every contender compared with dpmlab's on every column before a ratio is printed;
#   4. rows printed by every other tests/bench_*.py (run as `python3 tests/bench_X.py --dpmlab BUILD/dpmlab`,
#      lines ROW|hot path|size|dpmlab s|reference s|ratio|target|agree);
#   5. the scaling figure BUILD/figures/bench_scaling.{pdf,png} (time against K, d and B, fitted slopes).
# Output: a markdown table on stdout and in BUILD/bench/bench.md (for the README's "## Speed").
# BENCH_QUICK=1 runs every step on small sizes (a smoke test of the harness: its ratios mean nothing).
# BENCH_SAME_KERNEL=1 unsets OPENBLAS_CORETYPE/OPENBLAS_L2_SIZE for dpmlab too, so both sides run the same OpenBLAS
# kernel (by default dpmlab keeps the environment it is given, as its tests and CI do).
# BENCH_REFS="numpy" limits the references of every row (default: all of each row's).
# BENCH_ROWS="denoiser2 denoiser784 denoiser3072 oracle gamma dp likelihood sinkhorn" picks rows (dp needs gamma;
# X names the rows of tests/bench_X.py); default all.
set -e
build=${1:-build}
PY=/usr/bin/python3
REPS=${BENCH_REPS:-3}
INREPS=${BENCH_INREPS:-3}
out=$build/bench
mkdir -p "$out" "$build/figures" "$build/data"
tmp=$(mktemp -d "${TMPDIR:-/tmp}/dpmbench.XXXXXX")
trap 'rm -rf "$tmp"' EXIT INT TERM
H=$build/tests/bench_oracle
D=$build/dpmlab
say() { echo "bench: $*" >&2; }
ref_env() { env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE "$@"; }
if [ -n "$BENCH_SAME_KERNEL" ]; then unset OPENBLAS_CORETYPE OPENBLAS_L2_SIZE; fi
field() { printf '%s\n' "$1" | tr ' ' '\n' | sed -n "s/^$2=//p"; } # field "a=1 b=2" b -> 2
ms() { awk '{ printf "%.3f\n", $1 }'; } # seconds to the millisecond
median() { sort -g | awk '{v[NR] = $1} END {if (NR) print v[int((NR + 1) / 2)]; else print "nan"}'; }

# ---- 1. limits ---------------------------------------------------------------------------------------------------
say "machine limits"
lim=$("$H" limits)
exp_s=$(field "$lim" exp_scalar_ns); exp_v=$(field "$lim" exp_vector_ns)
gemm=$(field "$lim" dgemm_gflops); gemm1=$(field "$lim" dgemm_gflops_1); kern=$(field "$lim" kernel_gflops)
ncpu=$(nproc)
our_blas=$($PY tests/bench_reference.py blas)
ref_blas=$(ref_env $PY tests/bench_reference.py blas)
our_kernel=$(printf '%s' "${our_blas%%|*}" | sed 's/^[^:]*: \([A-Za-z0-9]*\).*/\1/')
ref_kernel=$(printf '%s' "${ref_blas%%|*}" | sed 's/^[^:]*: \([A-Za-z0-9]*\).*/\1/')
ref_gemm=${ref_blas##*|}
say "limits: $lim; references' DGEMM $ref_gemm GFLOP/s ($ref_kernel), dpmlab's kernel $our_kernel"
want() { [ -z "$BENCH_ROWS" ] || case " $BENCH_ROWS " in *" $1 "*) return 0 ;; *) return 1 ;; esac; }

# ---- 2. problems ----------------------------------------------------------------------------------------------------
say "writing the problems${BENCH_QUICK:+ (quick sizes)}"
$PY tests/bench_reference.py gen "$tmp" ${BENCH_QUICK:+--quick}
size() { $PY -c "import json,sys; z=json.load(open('$tmp/sizes.json'))['$1']; print(z['$2'])"; }

# whole-process run: wall seconds (microseconds resolved) and peak KiB appended to FILE (bench_oracle time); the
# values land where the command writes them
wp() {
  f=$1; shift
  if ! "$H" time "$f" "$@" >"$tmp/stdout" 2>"$tmp/stderr"; then
    say "FAILED: $*"; cat "$tmp/stderr" >&2; return 1
  fi
}

# A row: NAME LABEL SIZE TARGET LIMITKIND; contenders are set in the variables OURS (whole-process command),
# OURS_IN (in-process harness command), REFS (implementations of bench_reference.py).
table=$out/rows.txt
: >"$table"
row() {
  name=$1; label=$2; sz=$3; target=$4; kind=$5
  want "$name" || return 0
  say "$label ($sz)"
  rm -f "$tmp"/w_*
  # in-process first (their outputs are compared too)
  ours_in=$(eval "$OURS_IN" | tail -n 1)
  tin_ours=$(field "$ours_in" seconds)
  agree=yes; worst=""
  best_ref=""; best_t=""; best_in=""
  for impl in $REFS; do
    r=$(ref_env $PY tests/bench_reference.py run "$name" "$impl" "$tmp" "$INREPS" "$tmp/ref_in_$impl.npy" | tail -n 1)
    eval "tin_$impl=$(field "$r" seconds)"
  done
  for k in $(seq "$REPS"); do
    wp "$tmp/w_ours" sh -c "$OURS"
    for impl in $REFS; do
      wp "$tmp/w_$impl" env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE $PY tests/bench_reference.py run "$name" "$impl" \
        "$tmp" 1 "$tmp/ref_$impl.npy"
    done
  done
  t_ours=$(cut -d' ' -f1 "$tmp/w_ours" | median | ms); m_ours=$(cut -d' ' -f2 "$tmp/w_ours" | median)
  for impl in $REFS; do
    c=$($PY tests/bench_reference.py compare "$name" "$tmp" "$tmp/ref_$impl.npy" "$tmp/ours.npy") || agree=no
    c2=$($PY tests/bench_reference.py compare "$name" "$tmp" "$tmp/ref_in_$impl.npy" "$tmp/ours_in.npy") || agree=no
    worst="$worst $impl:$(field "$c" worst)"
    t=$(cut -d' ' -f1 "$tmp/w_$impl" | median | ms)
    m=$(cut -d' ' -f2 "$tmp/w_$impl" | median)
    eval "ti=\$tin_$impl"
    say "  $impl: whole ${t}s (${m} KiB), in-process ${ti}s; $c"
    if [ -z "$best_t" ] || awk -v a="$t" -v b="$best_t" 'BEGIN { exit !(a < b) }'; then
      best_ref=$impl; best_t=$t; best_m=$m; best_in=$ti
    fi
  done
  say "  dpmlab: whole ${t_ours}s (${m_ours} KiB), in-process ${tin_ours}s"
  frac=$(awk -v k="$kind" -v t="$tin_ours" -v g="$gemm" -v kg="$kern" -v ev="$exp_v" -v nc="$ncpu" -v s="$sz" 'BEGIN {
    n = split(s, a, /[ ,=]+/); for (i = 1; i < n; i += 2) v[a[i]] = a[i + 1]
    f4 = 4 * v["K"] * v["B"] * v["d"] / t / 1e9
    if (k == "gemm" && kg > 0) printf "%.0f%% of DGEMM, %.0f%% of the product kernel (4KBd flops; the 2KBd distance products alone: %.0f%%, %.0f%%)", 100 * f4 / g, 100 * f4 / kg, 50 * f4 / g, 50 * f4 / kg
    else if (k == "gemm") printf "%.0f%% of DGEMM (4KBd flops; the 2KBd distance products alone: %.0f%%)", 100 * f4 / g, 50 * f4 / g
    else if (k == "oracle") printf "%.0f%% of DGEMM", 100 * 6 * v["K"] * v["B"] * v["d"] * v["d"] / t / 1e9 / g
    else if (k == "exp") printf "%.0f%% of exp", 100 * v["K"] * v["B"] * ev * 1e-9 / nc / t
    else if (k == "gexp") printf "%.0f%% of exp", 100 * v["N"] * v["M"] * 8 * ev * 1e-9 / nc / t
    else printf "—" }')
  printf '%s|%s|%s|%s|%s|%s|%s|%s|%s|%s|%s|%s\n' "$label" "$sz" "$t_ours" "$best_t ($best_ref)" "$target" \
    "$tin_ours" "$best_in" "$frac" "$m_ours" "$best_m" "$agree" "$worst" >>"$table"
}

# ---- the rows -------------------------------------------------------------------------------------------------------
for n in 2 784 3072; do
  name=denoiser$n
  K=$(size $name K); d=$(size $name d); B=$(size $name B); sg=$(size $name sigma)
  if [ "$n" = 2 ]; then # through the command line: --data from CSV, --at and --out as .npy
    OURS="$D distance --data $tmp/${name}_Y.csv --sigma $sg --at $tmp/${name}_X.npy --out $tmp/ours.npy"
    kind=exp; target="≥ 10× NumPy"
  else # through the command line from .npy files (it also writes grad and the nearest point)
    OURS="$D distance --data $tmp/${name}_Y.npy --sigma $sg --at $tmp/${name}_X.npy --out $tmp/ours.npy"
    kind=gemm; target="≥ 1.3× NumPy"
  fi
  OURS_IN="$H distance $tmp/${name}_Y.npy $tmp/${name}_X.npy $sg $INREPS $tmp/ours_in.npy"
  REFS=${BENCH_REFS:-numpy torch smalldiffusion}
  row "$name" "ideal denoiser, d = $d" "K=$K, B=$B, d=$d" "$target" "$kind"
done

K=$(size oracle K); d=$(size oracle d); B=$(size oracle B); m=$(size oracle m); s=$(size oracle s)
OURS="$D oracle --data $tmp/oracle_mix.json --m $m --s $s --at $tmp/oracle_X.npy --out $tmp/ours.npy"
OURS_IN="$H oracle $tmp/oracle_mix.json $tmp/oracle_X.npy $m $s $INREPS $tmp/ours_in.npy"
REFS=${BENCH_REFS:-numpy torch}
row oracle "mixture oracle, full covariances" "K=$K, d=$d, B=$B" "≥ 5× NumPy" oracle

N=$(size gamma N); M=$(size gamma M); seed=$(size gamma seed)
OURS="$D variance --data ring8 --schedule linear --N $N --mc $M --seed $seed --out $tmp/ours.npy"
OURS_IN="$H gamma ring8 $N $M $seed $INREPS $tmp/ours_in.npy"
REFS="numpy"
row gamma "Γ_n by Monte Carlo (ring8)" "N=$N, M=$M" "≥ 10× NumPy" gexp
want gamma && $PY -c "import numpy as np; np.save('$tmp/dp_gamma.npy', np.load('$tmp/ours_in.npy')[:, 0])"

N=$(size dp N); K=$(size dp K)
if [ "$N" != "$(size gamma N)" ]; then say "dp: N must be the gamma row's N"; exit 1; fi
OURS="$H dp $tmp/dp_gamma.npy $N $K 1 $tmp/ours.npy >/dev/null"
OURS_IN="$H dp $tmp/dp_gamma.npy $N $K $INREPS $tmp/ours_in.npy"
REFS="numpy"
row dp "trajectory DP" "N=$N, K=$K" "≥ 10× NumPy" none

# d = 3072 from CSV through the command line (on the first 2000 points: the full set is 3 GB of text)
csv_ok="not run"
if want denoiser3072; then
$PY -c "import numpy as np; np.savetxt('$tmp/csv_Y.csv', np.load('$tmp/denoiser3072_Y.npy')[:2000], delimiter=',', fmt='%.17g'); np.save('$tmp/csv_Y.npy', np.load('$tmp/denoiser3072_Y.npy')[:2000])"
$D distance --data "$tmp/csv_Y.csv" --sigma 1 --at "$tmp/denoiser3072_X.npy" --out "$tmp/csv_cli.npy"
"$H" distance "$tmp/csv_Y.npy" "$tmp/denoiser3072_X.npy" 1 1 "$tmp/csv_lib.npy" >/dev/null
csv_ok=$($PY -c "
import numpy as np
a = np.load('$tmp/csv_cli.npy'); b = np.load('$tmp/csv_lib.npy'); d = b.shape[1] - 1
print('yes' if np.array_equal(np.column_stack([a[:, 0], a[:, 1 + d:1 + 2 * d]]), b) else 'no')")
fi

# ---- other modules' rows --------------------------------------------------------------------------------------------
extra=$out/extra.txt
: >"$extra"
for f in tests/bench_*.py; do
  case $f in tests/bench_reference.py) continue ;; esac
  r=${f#tests/bench_}; want "${r%.py}" || continue
  say "$f"
  ref_env $PY "$f" --dpmlab "$D" 2>"$tmp/extra_err" | grep '^ROW|' >>"$extra" || { say "$f failed:"; cat "$tmp/extra_err" >&2; }
done

# ---- 5. scaling figure ----------------------------------------------------------------------------------------------
say "scaling sweep"
"$H" scale "$build/data/bench_scaling.dat" 2>"$tmp/scale_err" || cat "$tmp/scale_err" >&2
for ext in pdf png; do gnuplot -c plots/bench_scaling.gp "$build/data/bench_scaling.dat" "$build/figures/bench_scaling.$ext"; done

# ---- the table ------------------------------------------------------------------------------------------------------
{
  echo "Measured $(date -u +%Y-%m-%d) on $ncpu cores ($(uname -m)), load average $(cut -d' ' -f1-3 /proc/loadavg)${BENCH_QUICK:+; QUICK SIZES: a smoke test, not a measurement}."
  echo "Limits: glibc exp ${exp_s} ns per call scalar, ${exp_v} ns in libmvec's SIMD lanes (one core); DGEMM ${gemm} GFLOP/s"
  echo "(${gemm1} on one thread) with dpmlab's environment (OpenBLAS kernel ${our_kernel}), ${ref_gemm} GFLOP/s for NumPy with"
  echo "OPENBLAS_CORETYPE/OPENBLAS_L2_SIZE unset (kernel ${ref_kernel}); the ideal denoiser's own product kernel ${kern} GFLOP/s"
  echo "(0: not on this CPU, the route uses DGEMM)."
  echo
  echo "| hot path | size | dpmlab (s) | best reference (s) | speed-up | target | in-process: dpmlab / reference (s) | share of the limit | peak memory dpmlab / reference (MiB) | values agree |"
  echo "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"
  while IFS='|' read -r label sz t ref target tin rin frac mo mr ag worst; do
    rt=${ref%% *}
    echo "| $label | $sz | $t | $ref | $(awk -v a="$rt" -v b="$t" 'BEGIN { printf "%.1f×", a / b }') | $target | $tin / $rin | $frac | $(awk -v a="$mo" -v b="$mr" 'BEGIN { printf "%.0f / %.0f", a / 1024, b / 1024 }') | $ag ($worst) |"
  done <"$table"
  while IFS='|' read -r _ hp sz ts tr ratio target ag; do
    echo "| $hp | $sz | $ts | $tr | $ratio | $target | | | | $ag |"
  done <"$extra"
  echo
  echo "Whole processes (read the inputs, compute, write the values), medians of $REPS interleaved rounds; the speed-up"
  echo "is the best reference's time over dpmlab's. The ideal denoiser rows run \`dpmlab distance\` (d = 2 with --data"
  echo "from CSV, d = 784 and 3072 from .npy); d = 3072 also runs from CSV (first 2000 points, same values: $csv_ok)."
} | tee "$out/bench.md"
