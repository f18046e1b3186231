# scorematch_linear.gp — a linear score model trained by exact least-squares DSM (docs/MATH.md §4.4): left, the exact
# score field of a 2-D mixture at one time over contours of log q_t; middle, the learned field over the same contours;
# right, samples of the learned model through DPM-Solver-2 against exact draws of the data.
# Usage: gnuplot -c plots/scorematch_linear.gp build/data/scorematch_linear.dat OUT.{pdf,png,svg,tex}
dpm_slash(s) = strstrt(s, '/') ? strstrt(s, '/') + dpm_slash(s[strstrt(s, '/') + 1:]) : 0
load ARG0[1:dpm_slash(ARG0)].'style.gp'
DATA = ARG1
eval dpm_output(ARG2, 7.0, 2.75)

lim = 6.0
# contours of log q_t into $C
set contour base
unset surface
set view map
set cntrparam cubicspline levels incremental -12, 1.5, 0
set table $C
splot DATA index 'logq' using 1:2:3 with lines notitle
unset table
unset contour
set surface

HF = dpm_cols(DATA, 'field')
fx = dpm_col(HF, 'x_1'); fy = dpm_col(HF, 'x_2'); e1 = dpm_col(HF, 'exact_1'); e2 = dpm_col(HF, 'exact_2')
l1 = dpm_col(HF, 'learned_1'); l2 = dpm_col(HF, 'learned_2')
HS = dpm_cols(DATA, 'samples')
s1 = dpm_col(HS, 'learned_1'); s2 = dpm_col(HS, 'learned_2'); d1 = dpm_col(HS, 'data_1'); d2 = dpm_col(HS, 'data_2')

eval dpm_grid(1, 3, 2)
do for [dpm_pass = 1:2] {
  eval dpm_pass_begin
  set border 15 lw 1
  set xtics mirror in scale 0.5; set ytics mirror in scale 0.5
  unset mxtics; unset mytics; unset grid
  set size ratio -1
  set xrange [-lim:lim]; set yrange [-lim:lim]
  set xtics -6, 3, 6; set ytics -6, 3, 6
  set xlabel dpm_L('{/:Italic x}_1', '$x_1$')
  eval dpm_panel(1, 1)
  set ylabel dpm_L('{/:Italic x}_2', '$x_2$')
  set title dpm_L('exact score ∇log {/:Italic q_t}', 'exact score $\nabla\log q_t$')
  plot $C using 1:2 with lines lw 0.7 lc rgb dpm_grey notitle, \
       DATA index 'field' using fx:fy:e1:e2 with vectors head filled size screen 0.006, 20, 45 lw 1.0 dt 1 lc rgb dpm_blue notitle
  eval dpm_panel_end
  eval dpm_panel(1, 2)
  unset ylabel; set format y ''
  set title dpm_L('learned linear model {/:Italic s_θ}', 'learned linear model $s_\theta$')
  plot $C using 1:2 with lines lw 0.7 lc rgb dpm_grey notitle, \
       DATA index 'field' using fx:fy:l1:l2 with vectors head filled size screen 0.006, 20, 45 lw 1.0 dt 1 lc rgb dpm_vermillion notitle
  eval dpm_panel_end
  eval dpm_panel(1, 3)
  set title dpm_L('samples (DPM-Solver-2, 20 steps)', 'samples (DPM-Solver-2, 20 steps)')
  plot DATA index 'samples' using d1:d2 with points pt 7 ps 0.18 lc rgb dpm_grey notitle, \
       DATA index 'samples' using s1:s2 with points pt 7 ps 0.15 lc rgb dpm_vermillion notitle
  eval dpm_panel_end
  eval dpm_key_begin(5)
  unset size
  plot [0:1][0:1] \
    NaN with lines lw 0.7 lc rgb dpm_grey title dpm_L('contours of log {/:Italic q_t}', 'contours of $\log q_t$'), \
    NaN with vectors lw 1.0 dt 1 lc rgb dpm_blue title dpm_L('exact score', 'exact score'), \
    NaN with vectors lw 1.0 dt 1 lc rgb dpm_vermillion title dpm_L('learned score', 'learned score'), \
    NaN with points pt 7 ps 0.5 lc rgb dpm_grey title dpm_L('exact draws of {/:Italic q}_0', 'exact draws of $q_0$'), \
    NaN with points pt 7 ps 0.5 lc rgb dpm_vermillion title dpm_L('samples of the learned model', 'samples of the learned model')
  unset multiplot
}
