# bench_scaling.gp — how the ideal denoiser's time grows (docs/MATH.md §2.11): the median time of dpm_distance_eval
# against the number of data points K, the dimension d and the number of queries B on log-log axes, one size varied
# at a time (K = 16000, d = 256, B = 256 otherwise, large-d route; and the small-d route at d = 2, B = 4000), with
# least-squares slopes of log t against log size (1 = linear). Written by `make bench` (tests/bench.sh).
# Usage: gnuplot -c plots/bench_scaling.gp build/data/bench_scaling.dat OUT.{pdf,png,svg,tex}
dpm_slash(s) = strstrt(s, '/') ? strstrt(s, '/') + dpm_slash(s[strstrt(s, '/') + 1:]) : 0
load ARG0[1:dpm_slash(ARG0)].'style.gp'
DATA = ARG1
eval dpm_output(ARG2, 7.0, 2.6)

# slope of log t against log x over a block: the least-squares line of stats
array slope[4]
blocks = "Ksweep dsweep Bsweep K2sweep"
array ylo[4]
array yhi[4]
do for [i = 1:4] {
  stats DATA index word(blocks, i) using (log($1)):(log($2)) nooutput
  slope[i] = STATS_slope
  ylo[i] = exp(STATS_min_y) / 6.0
  yhi[i] = exp(STATS_max_y) * 2.0
}
# each panel's y range: a sixth of the least time (room for the key below the data) to twice the largest
min(a, b) = a < b ? a : b
max(a, b) = a > b ? a : b

eval dpm_grid(1, 3, 1)
do for [dpm_pass = 1:2] {
  eval dpm_pass_begin
  set logscale xy
  set format y dpm_L('10^{%T}', '$10^{%T}$')
  set format x dpm_L('10^{%T}', '$10^{%T}$')
  set mytics 10
  set ylabel dpm_L('time {/:Italic t} (s)', 'time $t$ (s)')
  set key bottom right reverse Left samplen 2 spacing 1.2

  eval dpm_panel(1, 1)
  set xlabel dpm_L('data points {/:Italic K}', 'data points $K$')
  set title dpm_L('against {/:Italic K}', 'against $K$')
  set yrange [min(ylo[1], ylo[4]):max(yhi[1], yhi[4])]
  plot DATA index 'Ksweep' using 1:2 with linespoints ls 1 title sprintf('d = 256: slope %.2f', slope[1]), \
       DATA index 'K2sweep' using 1:2 with linespoints ls 2 title sprintf('d = 2: slope %.2f', slope[4])
  eval dpm_panel_end

  eval dpm_panel(1, 2)
  set xlabel dpm_L('dimension {/:Italic d}', 'dimension $d$')
  set title dpm_L('against {/:Italic d}', 'against $d$')
  set yrange [ylo[2]:yhi[2]]
  unset ylabel
  plot DATA index 'dsweep' using 1:2 with linespoints ls 1 title sprintf('slope %.2f', slope[2])
  eval dpm_panel_end

  eval dpm_panel(1, 3)
  set xlabel dpm_L('queries {/:Italic B}', 'queries $B$')
  set title dpm_L('against {/:Italic B}', 'against $B$')
  set yrange [ylo[3]:yhi[3]]
  plot DATA index 'Bsweep' using 1:2 with linespoints ls 1 title sprintf('slope %.2f', slope[3])
  eval dpm_panel_end

  eval dpm_key_begin(2)
  plot [0:1][0:1] NaN with linespoints ls 1 title 'product route (others at K = 16000, d = 256, B = 256)', \
       NaN with linespoints ls 2 title 'coordinate-difference route (d = 2, B = 4000)'
  unset multiplot
}
