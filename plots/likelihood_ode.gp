# likelihood_ode.gp — probability-flow log-likelihoods against the truth on ring8 under VP (docs/MATH.md §4.3):
# top, the error of the exact-divergence answer against the solver's rtol and against its NFE for five integrators,
# and the Hutchinson error against the number of probes M with its standard deviation and the 1/sqrt(M) line;
# bottom, the exact log q_t0, the ODE's answer and their difference on a grid.
# Usage: gnuplot -c plots/likelihood_ode.gp build/data/likelihood_ode.dat OUT.{pdf,png,svg,tex}
dpm_slash(s) = strstrt(s, '/') ? strstrt(s, '/') + dpm_slash(s[strstrt(s, '/') + 1:]) : 0
load ARG0[1:dpm_slash(ARG0)].'style.gp'
DATA = ARG1
eval dpm_output(ARG2, 7.2, 5.0)

floor = -20.0
clip(v) = v < floor ? floor : v
array meth[5] = ['rk45', 'rk8pd', 'euler', 'heun', 'rk4']
array mcol[5] = [dpm_blue, dpm_vermillion, dpm_grey, dpm_green, dpm_purple]
array mdt[5] = [1, 2, 3, 4, 5]
array mpt[5] = [7, 5, 9, 11, 13]

eval dpm_grid(2, 3, 2)
do for [dpm_pass = 1:2] {
  eval dpm_pass_begin
  set border 15 lw 1
  set xtics mirror in scale 0.5
  set ytics mirror in scale 0.5
  unset key; unset colorbox
  set logscale xy 10
  set format x '10^{%T}'; set format y '10^{%T}'
  if (dpm_tex) { set format x '$10^{%T}$'; set format y '$10^{%T}$' }

  eval dpm_panel(1, 1)
  set xrange [5e-11:2e-3]
  set yrange [1e-12:1]
  set xtics 1e-10, 100, 1e-2
  set ytics 1e-12, 1000, 1
  set xlabel dpm_L('rtol', 'rtol')
  set ylabel dpm_L('|log {/:Italic p} − log {/:Italic q_{t_0}}|  (nats)', '$|\log p - \log q_{t_0}|$ (nats)')
  set title dpm_L('max (filled), median (open) error', 'max (filled), median (open) error')
  plot x with lines lw 0.8 dt 2 lc rgb dpm_black notitle, \
       for [q = 1:2] DATA index 'err_'.meth[q] using 1:4 with linespoints pt mpt[q] ps 0.45 lw 1.4 dt mdt[q] lc rgb mcol[q] notitle, \
       for [q = 1:2] DATA index 'err_'.meth[q] using 1:3 with points pt (mpt[q] - 1) ps 0.45 lc rgb mcol[q] notitle
  eval dpm_panel_end

  eval dpm_panel(1, 2)
  set xrange [6:3000]
  set yrange [1e-12:10]
  set xtics 10, 10, 1000
  set ytics 1e-12, 1000, 1
  set xlabel dpm_L('NFE per point', 'NFE per point')
  set ylabel dpm_L('median |error|  (nats)', 'median $|$error$|$ (nats)')
  set title dpm_L('error against NFE', 'error against NFE')
  plot for [q = 1:5] DATA index 'err_'.meth[q] using 2:3 with linespoints pt mpt[q] ps 0.45 lw 1.4 dt mdt[q] lc rgb mcol[q] notitle
  eval dpm_panel_end

  eval dpm_panel(1, 3)
  set logscale x 2
  set format x '%g'
  if (dpm_tex) { set format x '$%g$' }
  set xrange [0.7:45]
  set yrange [1e-5:100]
  set xtics (1, 2, 4, 8, 16, 32)
  set ytics 1e-4, 100, 100
  set xlabel dpm_L('probes {/:Italic M}', 'probes $M$')
  set ylabel dpm_L('|Hutchinson − exact|  (nats)', '$|$Hutchinson $-$ exact$|$ (nats)')
  set title dpm_L('Hutchinson against {/:Italic M}', 'Hutchinson against $M$')
  plot DATA index 'hutch_pts' using ($1 * 0.9):(abs($2)) with points pt 7 ps 0.18 lc rgb dpm_sky notitle, \
       DATA index 'hutch_pts' using ($1 * 1.1):(abs($3)) with points pt 7 ps 0.18 lc rgb dpm_orange notitle, \
       DATA index 'hutch_sd' using 1:2 with linespoints pt 7 ps 0.45 lw 1.6 dt 1 lc rgb dpm_blue notitle, \
       DATA index 'hutch_sd' using 1:3 with linespoints pt 5 ps 0.45 lw 1.6 dt 1 lc rgb dpm_vermillion notitle, \
       DATA index 'hutch_sd' using 1:4 with lines lw 0.8 dt 2 lc rgb dpm_blue notitle, \
       DATA index 'hutch_sd' using 1:5 with lines lw 0.8 dt 2 lc rgb dpm_vermillion notitle
  eval dpm_panel_end

  # ---- the heat maps -----------------------------------------------------------------------------------------
  unset logscale
  set format x '%g'; set format y '%g'
  set xrange [-6:6]; set yrange [-6:6]
  set xtics -6, 3, 6; set ytics -6, 3, 6
  set size ratio -1
  set xlabel dpm_L('{/:Italic x}_1', '$x_1$')
  array htl[3] = ['exact log {/:Italic q_{t_0}}', 'ODE: log {/:Italic p}', 'log_{10} |log {/:Italic p} − log {/:Italic q_{t_0}}|']
  array htx[3] = ['exact $\log q_{t_0}$', 'ODE: $\log p$', '$\log_{10}|\log p - \log q_{t_0}|$']
  do for [c = 1:3] {
    eval dpm_panel(2, c)
    if (c == 1) { set ylabel dpm_L('{/:Italic x}_2', '$x_2$'); set format y '%g' } else { unset ylabel; set format y '' }
    set title dpm_L(htl[c], htx[c])
    if (c < 3) { set cbrange [floor:0] } else { set cbrange [-12:0] }
    set colorbox user origin graph 0.06, graph 0.06 size graph 0.04, graph 0.4 front noborder
    set cbtics textcolor rgb (c < 3 ? 'white' : 'black') scale 0.3 font ',7'
    if (c < 3) { set cbtics -20, 10, 0 } else { set cbtics -12, 6, 0 }
    if (c == 1) { plot DATA index 'heat' using 1:2:(clip($3)) with image notitle }
    if (c == 2) { plot DATA index 'heat' using 1:2:(clip($4)) with image notitle }
    if (c == 3) { plot DATA index 'heat' using 1:2:(log10(abs($5) > 1e-16 ? abs($5) : 1e-16)) with image notitle }
    eval dpm_panel_end
  }
  unset colorbox
  set size noratio

  eval dpm_key_begin(12)
  set key samplen 1.8 width 0.4
  plot [0:1][0:1] \
    for [q = 1:5] NaN with linespoints pt mpt[q] ps 0.45 lw 1.4 dt mdt[q] lc rgb mcol[q] title meth[q], \
    NaN with lines lw 0.8 dt 2 lc rgb dpm_black title dpm_L('error = rtol', 'error = rtol'), \
    NaN with linespoints pt 7 ps 0.45 lw 1.6 lc rgb dpm_blue title dpm_L('sd, Rademacher', 'sd, Rademacher'), \
    NaN with linespoints pt 5 ps 0.45 lw 1.6 lc rgb dpm_vermillion title dpm_L('sd, Gaussian', 'sd, Gaussian'), \
    NaN with lines lw 0.8 dt 2 lc rgb dpm_grey title dpm_L('sd({/:Italic M} = 1)/√{/:Italic M}', 'sd$(M{=}1)/\sqrt M$'), \
    NaN with points pt 7 ps 0.4 lc rgb dpm_sky title dpm_L('point, Rademacher', 'point, Rademacher'), \
    NaN with points pt 7 ps 0.4 lc rgb dpm_orange title dpm_L('point, Gaussian', 'point, Gaussian')
  unset multiplot
}
