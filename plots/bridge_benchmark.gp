# bridge_benchmark.gp — Sinkhorn scored against the closed-form entropic plan of a Gaussian-mixture potential
# (Gushchin et al. 2023): left, BW2-UVP of the conditional plans (mean over test points, with standard errors)
# against the number of pairs n in d = 2, 4, 16, 64, with the exact plan scored from n draws (its sampling floor)
# dashed and the slope n^-1; right, the scores against d at the largest n (docs/MATH.md §5.7).
# Usage: gnuplot -c plots/bridge_benchmark.gp build/data/bridge_benchmark.dat OUT.{pdf,png,svg,tex}
dpm_slash(s) = strstrt(s, '/') ? strstrt(s, '/') + dpm_slash(s[strstrt(s, '/') + 1:]) : 0
load ARG0[1:dpm_slash(ARG0)].'style.gp'
DATA = ARG1
eval dpm_output(ARG2, 7.0, 3.0)

array DD[4] = [2, 4, 16, 64]
array CC[4]
CC[1] = dpm_blue; CC[2] = dpm_vermillion; CC[3] = dpm_green; CC[4] = dpm_purple
stats DATA index 'd2' using 1 nooutput
n0 = STATS_min
n1 = STATS_max
stats DATA index 'd2' using 2 nooutput
u0 = STATS_max

eval dpm_grid(1, 2, 3)
do for [dpm_pass = 1:2] {
  eval dpm_pass_begin
  unset key
  set logscale xy 10
  set format y '10^{%L}'
  set grid lc rgb dpm_lightgrey

  eval dpm_panel(1, 1)
  set title dpm_L('conditional plans against the number of pairs', 'conditional plans against the number of pairs')
  set xlabel dpm_L('pairs {/:Italic n} (exact plan: draws per test point)', 'pairs $n$ (exact plan: draws per test point)')
  set ylabel dpm_L('BW_2^2-UVP (%)', 'BW$_2^2$-UVP (\%)')
  set xrange [n0 / 1.25:n1 * 1.25]
  set xtics (100, 200, 500, 1000, 2000)
  set mxtics 10
  plot for [i = 1:4] DATA index sprintf('d%d', DD[i]) using 1:2:3 with yerrorlines dt 1 pt 7 ps 0.45 lw 1.3 lc rgb CC[i] notitle, \
       for [i = 1:4] DATA index sprintf('d%d', DD[i]) using 1:5 with linespoints dt 2 pt 6 ps 0.45 lw 1.0 lc rgb CC[i] notitle, \
       DATA index 'd2' using 1:(u0 * n0 / $1) with lines dt 3 lw 1.0 lc rgb dpm_black notitle
  eval dpm_panel_end

  eval dpm_panel(1, 2)
  set title dpm_L('against the dimension, largest {/:Italic n}', 'against the dimension, largest $n$')
  set xlabel dpm_L('dimension {/:Italic d}', 'dimension $d$')
  set xrange [1.5:90]
  unset mxtics
  set xtics (2, 4, 16, 64)
  set ylabel dpm_L('BW_2^2-UVP (%)', 'BW$_2^2$-UVP (\%)')
  plot DATA index 'by_d' using 1:2:3 with yerrorlines dt 1 pt 7 ps 0.5 lw 1.3 lc rgb dpm_black notitle, \
       DATA index 'by_d' using 1:4 with linespoints dt 1 pt 5 ps 0.5 lw 1.3 lc rgb dpm_orange notitle, \
       DATA index 'by_d' using 1:5:6 with yerrorlines dt 2 pt 6 ps 0.5 lw 1.0 lc rgb dpm_sky notitle
  eval dpm_panel_end

  eval dpm_key_begin(9)
  set key samplen 1.8 width 0.4
  plot [0:1][0:1] \
    for [i = 1:4] NaN with linespoints dt 1 pt 7 ps 0.5 lw 1.3 lc rgb CC[i] title dpm_L(sprintf('Sinkhorn, {/:Italic d} = %d', DD[i]), sprintf('Sinkhorn, $d = %d$', DD[i])), \
    NaN with linespoints dt 2 pt 6 ps 0.5 lw 1.0 lc rgb dpm_grey title dpm_L('exact plan, same colours', 'exact plan, same colours'), \
    NaN with lines dt 3 lw 1.0 lc rgb dpm_black title dpm_L('slope {/:Italic n}^{-1}', 'slope $n^{-1}$'), \
    NaN with linespoints dt 1 pt 7 ps 0.5 lw 1.3 lc rgb dpm_black title dpm_L('Sinkhorn, conditional', 'Sinkhorn, conditional'), \
    NaN with linespoints dt 1 pt 5 ps 0.5 lw 1.3 lc rgb dpm_orange title dpm_L('Sinkhorn, target marginal', 'Sinkhorn, target marginal'), \
    NaN with linespoints dt 2 pt 6 ps 0.5 lw 1.0 lc rgb dpm_sky title dpm_L('exact plan, conditional', 'exact plan, conditional')
  unset multiplot
}
