# optim_memorisation.gp — memorisation in the optimisation view (Permenter & Yuan, arXiv 2306.04848): left, the share
# of samples within a tenth of the spacing of a training point of circle:n=8 against the number of steps N for ddim,
# ge and DPM-Solver-2 with the ideal, a relative-error and the smoothed denoiser (± one binomial standard error);
# right, the mean distance of DDIM iterates to the finite set and to the circle it samples, in R^16, against sigma_t
# (docs/MATH.md §2.10).
# Usage: gnuplot -c plots/optim_memorisation.gp build/data/optim_memorisation.dat OUT.{pdf,png,svg,tex}
dpm_slash(s) = strstrt(s, '/') ? strstrt(s, '/') + dpm_slash(s[strstrt(s, '/') + 1:]) : 0
load ARG0[1:dpm_slash(ARG0)].'style.gp'
DATA = ARG1
eval dpm_output(ARG2, 7.0, 3.1)

array smp[3] = ['ddim', 'ge', 'dpm-solver-2']
array smpt[3] = ['DDIM', 'ge', 'DPM-Solver-2']
array dn[3] = ['exact', 'relerr', 'smoothed']
array col[3] = [dpm_blue, dpm_vermillion, dpm_green]
array pt[3] = [7, 4, 8]
array dt[3] = [1, 2, 3]
array off[3] = [0.94, 1.0, 1.06]

eval dpm_grid(1, 2, 3)
do for [dpm_pass = 1:2] {
  eval dpm_pass_begin
  set border 3 lw 1
  set xtics nomirror out scale 0.5
  set ytics nomirror out scale 0.5
  set grid lc rgb '#dddddd' lw 0.5
  unset key

  eval dpm_panel(1, 1)
  set logscale x 2
  set xrange [3:700]
  set yrange [-0.03:1.05]
  set xtics (4, 8, 16, 32, 64, 128, 256, 512)
  set ytics 0, 0.2, 1
  set xlabel dpm_L('steps {/:Italic N} (grid uniform in {/:Italic σ})', 'steps $N$ (grid uniform in $\sigma$)')
  set ylabel dpm_L('share within 0.1 spacing of a point', 'share within $0.1$ spacing of a point')
  set title dpm_L('memorised share against {/:Italic N}', 'memorised share against $N$')
  plot for [a = 1:3] for [m = 1:3] DATA index sprintf('share_%s_%s', smp[a], dn[m]) \
         using ($1 * off[a]):3:4 with yerrorbars pt pt[a] ps 0.45 lw 0.8 lc rgb col[m] notitle, \
       for [a = 1:3] for [m = 1:3] DATA index sprintf('share_%s_%s', smp[a], dn[m]) \
         using ($1 * off[a]):3 with lines lw (a == 1 ? 1.8 : 1.1) dt dt[a] lc rgb col[m] notitle
  eval dpm_panel_end

  eval dpm_panel(1, 2)
  unset logscale
  set logscale xy 10
  set xrange [*:*] reverse
  set autoscale xfix
  set yrange [*:*]
  set xtics auto
  set ytics auto
  set format x '10^{%T}'; set format y '10^{%T}'
  if (dpm_tex) { set format x '$10^{%T}$'; set format y '$10^{%T}$' }
  set xlabel dpm_L('{/:Italic σ_t}  (DDIM runs to the right)', '$\sigma_t$ (DDIM runs to the right)')
  set ylabel dpm_L('mean distance', 'mean distance')
  set title dpm_L('to the 12 points and to the circle, R^{16}', 'to the 12 points and to the circle, $\mathbb R^{16}$')
  plot DATA index 'man_ideal' using 1:2 with lines lw 2.4 dt 1 lc rgb dpm_blue notitle, \
       DATA index 'man_ideal' using 1:4 with lines lw 1.4 dt (5, 3) lc rgb dpm_blue notitle, \
       DATA index 'man_smoothed' using 1:2 with lines lw 2.4 dt 1 lc rgb dpm_green notitle, \
       DATA index 'man_smoothed' using 1:4 with lines lw 1.4 dt (5, 3) lc rgb dpm_green notitle
  eval dpm_panel_end

  eval dpm_key_begin(9)
  set key samplen 2.2 width 0.8
  plot [0:1][0:1] \
    NaN with lines lw 2.4 dt 1 lc rgb dpm_blue title dpm_L('ideal {/:Italic ε}^*', 'ideal $\epsilon^*$'), \
    NaN with lines lw 2.4 dt 1 lc rgb dpm_vermillion title dpm_L('relative error {/:Italic η} = 0.3', 'relative error $\eta = 0.3$'), \
    NaN with lines lw 2.4 dt 1 lc rgb dpm_green title dpm_L('smoothed, {/:Italic h} ≈ spacing/2', 'smoothed, $h \approx$ spacing$/2$'), \
    for [a = 1:3] NaN with linespoints pt pt[a] ps 0.45 lw 1.2 dt dt[a] lc rgb dpm_black title smpt[a], \
    NaN with lines lw 2.4 dt 1 lc rgb dpm_grey title dpm_L('to the set', 'to the set'), \
    NaN with lines lw 1.4 dt (5, 3) lc rgb dpm_grey title dpm_L('to the circle', 'to the circle')
  unset multiplot
}
