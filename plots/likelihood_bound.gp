# likelihood_bound.gp — likelihoods against the truth on ring8 under VP (docs/MATH.md §4.3): the SDE bound minus
# log q_t0 per point (exact score with the Gaussian prior; a scaled score with the exact prior) with the scaled
# model's log p^ODE; KL(q_t0 || p^ODE) and the mean SDE-bound gap of scaled scores against c; the KL of autoguided
# models against w; the truncation study, |log p(t0) - log q_0| and |log q_t0 - log q_0| against t0.
# Usage: gnuplot -c plots/likelihood_bound.gp build/data/likelihood_bound.dat OUT.{pdf,png,svg,tex}
dpm_slash(s) = strstrt(s, '/') ? strstrt(s, '/') + dpm_slash(s[strstrt(s, '/') + 1:]) : 0
load ARG0[1:dpm_slash(ARG0)].'style.gp'
DATA = ARG1
eval dpm_output(ARG2, 7.0, 5.4)

eval dpm_grid(2, 2, 5)
do for [dpm_pass = 1:2] {
  eval dpm_pass_begin
  set border 15 lw 1
  set xtics mirror in scale 0.5
  set ytics mirror in scale 0.5
  unset key

  eval dpm_panel(1, 1)
  set autoscale xy
  set xlabel dpm_L('exact log {/:Italic q_{t_0}}({/:Italic x})  (nats)', 'exact $\log q_{t_0}(x)$ (nats)')
  set ylabel dpm_L('difference to log {/:Italic q_{t_0}}  (nats)', 'difference to $\log q_{t_0}$ (nats)')
  set title dpm_L('per point', 'per point')
  set yrange [-8:3]
  ylo = -7.6
  plot 0 with lines lw 0.8 dt 2 lc rgb dpm_black notitle, \
       DATA index 'points' using 1:($6 < ylo ? NaN : $6) with points pt 6 ps 0.5 lc rgb dpm_green notitle, \
       DATA index 'points' using 1:($6 < ylo ? ylo : NaN) with points pt 11 ps 0.5 lc rgb dpm_green notitle, \
       DATA index 'points' using ($1 + 0.02):2:3 with yerrorbars pt 7 ps 0.4 lw 0.8 lc rgb dpm_blue notitle, \
       DATA index 'points' using ($1 - 0.02):4:5 with yerrorbars pt 5 ps 0.4 lw 0.8 lc rgb dpm_vermillion notitle
  eval dpm_panel_end

  eval dpm_panel(1, 2)
  set xrange [0.75:1.25]
  set autoscale y
  set xtics 0.8, 0.1, 1.2
  set xlabel dpm_L('scale {/:Italic c} of {/:Italic ε̂} = {/:Italic c ε}', 'scale $c$ of $\hat\epsilon = c\,\epsilon$')
  set ylabel dpm_L('nats', 'nats')
  set title dpm_L('imperfect scores: KL and bound gap', 'imperfect scores: KL and bound gap')
  plot 0 with lines lw 0.8 dt 2 lc rgb dpm_black notitle, \
       DATA index 'scaled' using 1:2:3 with yerrorlines pt 7 ps 0.45 lw 1.4 dt 1 lc rgb dpm_blue notitle, \
       DATA index 'scaled' using 1:4:5 with yerrorlines pt 5 ps 0.45 lw 1.4 dt (5, 3) lc rgb dpm_vermillion notitle
  eval dpm_panel_end

  eval dpm_panel(2, 1)
  set xrange [-0.1:2.1]
  set yrange [-0.5:*]
  set xtics 0, 0.5, 2
  set xlabel dpm_L('autoguidance weight {/:Italic w}', 'autoguidance weight $w$')
  set ylabel dpm_L('KL({/:Italic q_{t_0}} ‖ {/:Italic p}^{ODE})  (nats)', '$\mathrm{KL}(q_{t_0}\,\|\,p^{\mathrm{ODE}})$ (nats)')
  set title dpm_L('autoguided models', 'autoguided models')
  plot 0 with lines lw 0.8 dt 2 lc rgb dpm_black notitle, \
       DATA index 'auto' using 1:2:3 with yerrorlines pt 9 ps 0.5 lw 1.4 dt 1 lc rgb dpm_purple notitle
  eval dpm_panel_end

  eval dpm_panel(2, 2)
  set logscale xy 10
  set xrange [5e-7:0.2]
  set yrange [1e-12:10]
  set xtics 1e-6, 100, 0.1
  set ytics 1e-12, 1000, 10
  set format x '10^{%T}'; set format y '10^{%T}'
  if (dpm_tex) { set format x '$10^{%T}$'; set format y '$10^{%T}$' }
  set xlabel dpm_L('{/:Italic t}_0', '$t_0$')
  set ylabel dpm_L('mean |· − log {/:Italic q}_0|  (nats)', 'mean $|\cdot - \log q_0|$ (nats)')
  set title dpm_L('truncation at {/:Italic t}_0', 'truncation at $t_0$')
  plot DATA index 'trunc_vp' using 1:3 with lines lw 1.4 dt 1 lc rgb dpm_blue notitle, \
       DATA index 'trunc_vp' using 1:2 with points pt 6 ps 0.6 lc rgb dpm_blue notitle, \
       DATA index 'trunc_edm' using 1:3 with lines lw 1.4 dt (5, 3) lc rgb dpm_orange notitle, \
       DATA index 'trunc_edm' using 1:2 with points pt 4 ps 0.6 lc rgb dpm_orange notitle
  eval dpm_panel_end
  unset logscale
  set format x '%g'; set format y '%g'

  eval dpm_key_begin(9)
  set key samplen 1.8 width 0.4
  plot [0:1][0:1] \
    NaN with points pt 7 ps 0.4 lc rgb dpm_blue title dpm_L('SDE bound, exact score, prior N(0, {/:Italic s_T}^2{/:Italic I})', 'SDE bound, exact score, prior $N(0, s_T^2 I)$'), \
    NaN with points pt 5 ps 0.4 lc rgb dpm_vermillion title dpm_L('SDE bound, {/:Italic ε̂} = 1.2{/:Italic ε}, prior {/:Italic q_T}', 'SDE bound, $\hat\epsilon = 1.2\epsilon$, prior $q_T$'), \
    NaN with points pt 6 ps 0.5 lc rgb dpm_green title dpm_L('log {/:Italic p}^{ODE}, {/:Italic ε̂} = 1.2{/:Italic ε} (▼: below)', '$\log p^{\mathrm{ODE}}$, $\hat\epsilon = 1.2\epsilon$ ($\blacktriangledown$: below)'), \
    NaN with linespoints pt 7 ps 0.45 lw 1.4 lc rgb dpm_blue title dpm_L('KL({/:Italic q_{t_0}} ‖ {/:Italic p}^{ODE})', '$\mathrm{KL}(q_{t_0}\|p^{\mathrm{ODE}})$'), \
    NaN with linespoints pt 5 ps 0.45 lw 1.4 dt (5, 3) lc rgb dpm_vermillion title dpm_L('E[log {/:Italic q} − bound]', '$E[\log q - \mathrm{bound}]$'), \
    NaN with lines lw 1.4 lc rgb dpm_blue title dpm_L('VP: |log {/:Italic q_{t_0}} − log {/:Italic q}_0|', 'VP: $|\log q_{t_0} - \log q_0|$'), \
    NaN with points pt 6 ps 0.6 lc rgb dpm_blue title dpm_L('VP: ODE', 'VP: ODE'), \
    NaN with lines lw 1.4 dt (5, 3) lc rgb dpm_orange title dpm_L('EDM: |log {/:Italic q_{t_0}} − log {/:Italic q}_0|', 'EDM: $|\log q_{t_0} - \log q_0|$'), \
    NaN with points pt 4 ps 0.6 lc rgb dpm_orange title dpm_L('EDM: ODE', 'EDM: ODE')
  unset multiplot
}
