# bridge_benchmark.gp — Sinkhorn, grid IPF and mean-matching IPF scored against the closed-form entropic plan of a
# Gaussian-mixture potential (Gushchin et al. 2023): left, BW2-UVP of Sinkhorn's conditional plans (mean over test
# points, with standard errors) against the number of pairs n in d = 2, 4, 16, 64, with the exact plan scored from
# n draws (its sampling floor) dashed and the slope n^-1; middle, grid IPF's score in d = 2 against 1/dx^2 with the
# Poisson-summation rate exp(-4 pi^2 (eps/N)/dx^2); right, the scores against d at the largest n, with
# mean-matching IPF (affine regressor in every d, Gaussian bumps in d = 2) beside the exact plan from as many draws
# as its conditional plan (docs/MATH.md §5.5-5.7).
# Usage: gnuplot -c plots/bridge_benchmark.gp build/data/bridge_benchmark.dat OUT.{pdf,png,svg,tex}
dpm_slash(s) = strstrt(s, '/') ? strstrt(s, '/') + dpm_slash(s[strstrt(s, '/') + 1:]) : 0
load ARG0[1:dpm_slash(ARG0)].'style.gp'
DATA = ARG1
eval dpm_output(ARG2, 7.0, 3.2)

array DD[4] = [2, 4, 16, 64]
array CC[4]
CC[1] = dpm_blue; CC[2] = dpm_vermillion; CC[3] = dpm_green; CC[4] = dpm_purple
stats DATA index 'd2' using 1 nooutput
n0 = STATS_min
n1 = STATS_max
stats DATA index 'd2' using 2 nooutput
u0 = STATS_max
stats DATA index 'grid' using 2 nooutput
gx0 = STATS_min
gx1 = STATS_max
stats DATA index 'grid' using 3 nooutput
gu0 = STATS_max       # the coarsest grid's score: the rate line is drawn below it
stats DATA index 'by_d' using 5 nooutput
exfloor = STATS_min   # the exact plan from n draws in d = 2 (the first row)

eval dpm_grid(1, 3, 4)
do for [dpm_pass = 1:2] {
  eval dpm_pass_begin
  unset key
  set logscale xy 10
  set format y '10^{%L}'
  set grid lc rgb dpm_lightgrey

  eval dpm_panel(1, 1)
  set title dpm_L('Sinkhorn against the number of pairs', 'Sinkhorn against the number of pairs')
  set xlabel dpm_L('pairs {/:Italic n} (exact plan: draws)', 'pairs $n$ (exact plan: draws)')
  set ylabel dpm_L('BW_2^2-UVP (%)', 'BW$_2^2$-UVP (\%)')
  set xrange [n0 / 1.25:n1 * 1.25]
  set xtics (100, 200, 500, 1000, 2000)
  set mxtics 10
  plot for [i = 1:4] DATA index sprintf('d%d', DD[i]) using 1:2:3 with yerrorlines dt 1 pt 7 ps 0.45 lw 1.3 lc rgb CC[i] notitle, \
       for [i = 1:4] DATA index sprintf('d%d', DD[i]) using 1:5 with linespoints dt 2 pt 6 ps 0.45 lw 1.0 lc rgb CC[i] notitle, \
       DATA index 'd2' using 1:(u0 * n0 / $1) with lines dt 3 lw 1.0 lc rgb dpm_black notitle
  eval dpm_panel_end

  eval dpm_panel(1, 2)
  set title dpm_L('grid IPF, {/:Italic d} = 2, against the grid', 'grid IPF, $d = 2$, against the grid')
  set xlabel dpm_L('1/{/:Italic Δx}^2', '$1/\Delta x^2$')
  set ylabel dpm_L('BW_2^2-UVP (%)', 'BW$_2^2$-UVP (\%)')
  unset logscale x
  unset mxtics
  set xtics auto
  set xrange [0:gx1 * 1.08]
  plot DATA index 'grid' using 2:3 with linespoints dt 1 pt 7 ps 0.5 lw 1.3 lc rgb dpm_blue notitle, \
       DATA index 'grid' using 2:5 with linespoints dt 1 pt 5 ps 0.45 lw 1.0 lc rgb dpm_orange notitle, \
       DATA index 'grid' using 2:($7 <= gu0 ? $7 : NaN) with lines dt 3 lw 1.0 lc rgb dpm_black notitle, \
       exfloor with lines dt 2 lw 1.0 lc rgb dpm_sky notitle
  eval dpm_panel_end

  eval dpm_panel(1, 3)
  set title dpm_L('against the dimension, largest {/:Italic n}', 'against the dimension, largest $n$')
  set xlabel dpm_L('dimension {/:Italic d}', 'dimension $d$')
  set logscale x 10
  set xrange [1.5:90]
  set xtics (2, 4, 16, 64)
  set ylabel dpm_L('BW_2^2-UVP (%)', 'BW$_2^2$-UVP (\%)')
  plot DATA index 'by_d' using 1:2:3 with yerrorlines dt 1 pt 7 ps 0.5 lw 1.3 lc rgb dpm_black notitle, \
       DATA index 'by_d' using 1:4 with linespoints dt 1 pt 5 ps 0.5 lw 1.3 lc rgb dpm_orange notitle, \
       DATA index 'by_d' using 1:5:6 with yerrorlines dt 2 pt 6 ps 0.5 lw 1.0 lc rgb dpm_sky notitle, \
       DATA index 'mm' using ($2 == 0 ? $1 : NaN):7:8 with yerrorlines dt 1 pt 9 ps 0.6 lw 1.3 lc rgb dpm_vermillion notitle, \
       DATA index 'mm' using ($2 > 0 ? $1 : NaN):7:8 with yerrorbars pt 13 ps 0.8 lw 1.3 lc rgb dpm_green notitle, \
       DATA index 'mm' using ($2 == 0 ? $1 : NaN):10 with linespoints dt 2 pt 8 ps 0.5 lw 1.0 lc rgb dpm_purple notitle
  eval dpm_panel_end

  eval dpm_key_begin(13)
  set key samplen 1.8 width 0.4
  plot [0:1][0:1] \
    for [i = 1:4] NaN with linespoints dt 1 pt 7 ps 0.5 lw 1.3 lc rgb CC[i] title dpm_L(sprintf('Sinkhorn, {/:Italic d} = %d', DD[i]), sprintf('Sinkhorn, $d = %d$', DD[i])), \
    NaN with linespoints dt 2 pt 6 ps 0.5 lw 1.0 lc rgb dpm_grey title dpm_L('exact plan, same colours', 'exact plan, same colours'), \
    NaN with lines dt 3 lw 1.0 lc rgb dpm_black title dpm_L('slope {/:Italic n}^{-1}; grid rate', 'slope $n^{-1}$; grid rate'), \
    NaN with linespoints dt 1 pt 7 ps 0.5 lw 1.3 lc rgb dpm_blue title dpm_L('grid IPF, conditional', 'grid IPF, conditional'), \
    NaN with linespoints dt 1 pt 5 ps 0.5 lw 1.3 lc rgb dpm_orange title dpm_L('target marginal (grid; Sinkhorn)', 'target marginal (grid; Sinkhorn)'), \
    NaN with linespoints dt 1 pt 7 ps 0.5 lw 1.3 lc rgb dpm_black title dpm_L('Sinkhorn, conditional', 'Sinkhorn, conditional'), \
    NaN with linespoints dt 2 pt 6 ps 0.5 lw 1.0 lc rgb dpm_sky title dpm_L('exact plan, {/:Italic n} draws', 'exact plan, $n$ draws'), \
    NaN with linespoints dt 1 pt 9 ps 0.6 lw 1.3 lc rgb dpm_vermillion title dpm_L('mean-matching, affine', 'mean-matching, affine'), \
    NaN with points pt 13 ps 0.8 lc rgb dpm_green title dpm_L('mean-matching, bumps', 'mean-matching, bumps'), \
    NaN with linespoints dt 2 pt 8 ps 0.5 lw 1.0 lc rgb dpm_purple title dpm_L('exact plan, its draws', 'exact plan, its draws')
  unset multiplot
}
