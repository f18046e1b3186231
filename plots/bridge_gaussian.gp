# bridge_gaussian.gp — the Schrödinger bridge between two Gaussians against its closed form (Janati et al. 2020; De
# Bortoli et al. 2021; docs/MATH.md §5): left, the time marginals mu_t -+ 2 sd of the closed form with Euler–Maruyama
# paths on its drift and the marginals of Sinkhorn's dynamic bridge on samples; middle, exact IPF's distance to
# C_sigma per iteration (log scale) for the Brownian and the DSB reference with the predicted rate; right, C_sigma and
# Sinkhorn's cross-covariance against sigma^2 between the epsilon -> 0 and epsilon -> infinity limits.
# Usage: gnuplot -c plots/bridge_gaussian.gp build/data/bridge_gaussian.dat OUT.{pdf,png,svg,tex}
dpm_slash(s) = strstrt(s, '/') ? strstrt(s, '/') + dpm_slash(s[strstrt(s, '/') + 1:]) : 0
load ARG0[1:dpm_slash(ARG0)].'style.gp'
DATA = ARG1
eval dpm_output(ARG2, 7.0, 3.1)

eval dpm_grid(1, 3, 4)
do for [dpm_pass = 1:2] {
  eval dpm_pass_begin
  set border 15 lw 1
  set xtics mirror in scale 0.5
  set ytics mirror in scale 0.5
  unset key; unset colorbox

  # ---- time marginals -----------------------------------------------------------------------------------------
  eval dpm_panel(1, 1)
  set xrange [0:1]; set yrange [*:*]
  set xlabel dpm_L('time {/:Italic t}', 'time $t$')
  set ylabel dpm_L('{/:Italic X_t}', '$X_t$')
  set title dpm_L('time marginals', 'time marginals')
  set style fill transparent solid 0.25 noborder
  plot DATA index 'marg' using 1:3:4 with filledcurves lc rgb dpm_sky notitle, \
       DATA index 'paths' using 1:2 with lines lw 0.5 dt 1 lc rgb dpm_grey notitle, \
       DATA index 'marg' using 1:2 with lines lw 2.2 dt 1 lc rgb dpm_blue notitle, \
       DATA index 'marg' using 1:3 with lines lw 1.0 dt (4, 3) lc rgb dpm_blue notitle, \
       DATA index 'marg' using 1:4 with lines lw 1.0 dt (4, 3) lc rgb dpm_blue notitle, \
       DATA index 'sk_marg' using 1:2:3:4 with yerrorbars pt 7 ps 0.45 lw 1.2 lc rgb dpm_vermillion notitle
  eval dpm_panel_end

  # ---- IPF convergence ----------------------------------------------------------------------------------------
  eval dpm_panel(1, 2)
  set logscale y 10
  set xrange [0:12.5]; set yrange [*:*]
  set xtics 2
  set format y '10^{%T}'
  if (dpm_tex) { set format y '$10^{%T}$' }
  set xlabel dpm_L('IPF iteration {/:Italic n}', 'IPF iteration $n$')
  set ylabel dpm_L('‖{/:Italic C_n} − {/:Italic C_σ}‖_F', '$\|C_n - C_\sigma\|_F$')
  set title dpm_L('IPF against the closed form', 'IPF against the closed form')
  plot DATA index 'ipf_bm' using 1:2 with linespoints pt 7 ps 0.45 lw 1.6 dt 1 lc rgb dpm_blue notitle, \
       DATA index 'ipf_bm' using 1:3 with lines lw 1.0 dt (2, 2) lc rgb dpm_black notitle, \
       DATA index 'ipf_dsb' using 1:2 with linespoints pt 4 ps 0.45 lw 1.4 dt (5, 3) lc rgb dpm_green notitle, \
       DATA index 'ipf_grid' using 1:2 with linespoints pt 6 ps 0.55 lw 1.2 dt (1, 2) lc rgb dpm_purple notitle, \
       DATA index 'ipf_mm' using 1:2 with linespoints pt 9 ps 0.55 lw 1.2 dt (8, 3) lc rgb dpm_orange notitle
  eval dpm_panel_end
  unset logscale y

  # ---- the epsilon limits -------------------------------------------------------------------------------------
  eval dpm_panel(1, 3)
  set logscale xy 10
  set xrange [*:*]; set yrange [0.005:3]
  set autoscale xfix
  set xtics auto
  set format x '10^{%T}'; set format y '10^{%T}'
  if (dpm_tex) { set format x '$10^{%T}$'; set format y '$10^{%T}$' }
  set xlabel dpm_L('{/:Italic σ}^2  (Sinkhorn reg = 2{/:Italic σ}^2)', '$\sigma^2$ (Sinkhorn reg $= 2\sigma^2$)')
  set ylabel dpm_L('Cov({/:Italic X}_0, {/:Italic X}_1)', '$\mathrm{Cov}(X_0, X_1)$')
  set title dpm_L('limits {/:Italic σ} → 0 and {/:Italic σ} → ∞', 'limits $\sigma \to 0$ and $\sigma \to \infty$')
  plot DATA index 'limits' using 1:4 with lines lw 1.2 dt (6, 3) lc rgb dpm_green notitle, \
       DATA index 'limits' using 1:6 with lines lw 1.0 dt (2, 2) lc rgb dpm_grey notitle, \
       DATA index 'limits' using 1:5 with lines lw 1.2 dt (3, 3) lc rgb dpm_orange notitle, \
       DATA index 'limits' using 1:2 with lines lw 2.0 dt 1 lc rgb dpm_blue notitle, \
       DATA index 'limits' using 1:3 with points pt 7 ps 0.5 lc rgb dpm_vermillion notitle
  eval dpm_panel_end

  # ---- one key for the three panels ---------------------------------------------------------------------------
  eval dpm_key_begin(11)
  set key samplen 1.6 width 0.4
  set style fill transparent solid 0.25 noborder
  plot [0:1][0:1] \
    NaN with lines lw 2.2 dt 1 lc rgb dpm_blue title dpm_L('closed form ({/:Italic μ_t} ± 2 sd, {/:Italic C_σ})', 'closed form ($\mu_t \pm 2$ sd, $C_\sigma$)'), \
    NaN with lines lw 0.5 dt 1 lc rgb dpm_grey title dpm_L('Euler–Maruyama paths', 'Euler--Maruyama paths'), \
    NaN with points pt 7 ps 0.45 lc rgb dpm_vermillion title dpm_L('Sinkhorn on samples', 'Sinkhorn on samples'), \
    NaN with linespoints pt 7 ps 0.45 lw 1.6 dt 1 lc rgb dpm_blue title dpm_L('IPF, Brownian reference', 'IPF, Brownian reference'), \
    NaN with lines lw 1.0 dt (2, 2) lc rgb dpm_black title dpm_L('rate {/:Italic φ}^4 per iteration', 'rate $\varphi^4$ per iteration'), \
    NaN with linespoints pt 4 ps 0.45 lw 1.4 dt (5, 3) lc rgb dpm_green title dpm_L('IPF, DSB reference (2-D)', 'IPF, DSB reference (2-D)'), \
    NaN with linespoints pt 9 ps 0.55 lw 1.2 dt (8, 3) lc rgb dpm_orange title dpm_L('mean-matching IPF ({/:Italic N} = 32)', 'mean-matching IPF ($N = 32$)'), \
    NaN with linespoints pt 6 ps 0.55 lw 1.2 dt (1, 2) lc rgb dpm_purple title dpm_L('grid IPF (at {/:Italic n} − ½)', 'grid IPF (at $n - \frac12$)'), \
    NaN with lines lw 1.2 dt (6, 3) lc rgb dpm_green title dpm_L('√({/:Italic Σ}_0{/:Italic Σ}_1): {/:Italic σ} → 0', '$\sqrt{\Sigma_0\Sigma_1}$: $\sigma \to 0$'), \
    NaN with lines lw 1.0 dt (2, 2) lc rgb dpm_grey title dpm_L('sorted coupling of the sample', 'sorted coupling of the sample'), \
    NaN with lines lw 1.2 dt (3, 3) lc rgb dpm_orange title dpm_L('{/:Italic Σ}_0{/:Italic Σ}_1/{/:Italic σ}^2: {/:Italic σ} → ∞', '$\Sigma_0\Sigma_1/\sigma^2$: $\sigma \to \infty$')
  unset multiplot
}
