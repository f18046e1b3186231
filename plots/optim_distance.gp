# optim_distance.gp — the optimisation view of diffusion in 2-D (Permenter & Yuan, arXiv 2306.04848): contours of the
# smoothed distance of a point set at three sigma with DDIM (left) and gradient-estimation (middle) trajectories on the
# VE process and x0-hat along them; right, dist_K(x_t) along DDIM against sigma_t inside the two-sided bound of their
# convergence theorem, for the ideal and a relative-error denoiser (docs/MATH.md §2.8, §2.10).
# Usage: gnuplot -c plots/optim_distance.gp build/data/optim_distance.dat OUT.{pdf,png,svg,tex}
dpm_slash(s) = strstrt(s, '/') ? strstrt(s, '/') + dpm_slash(s[strstrt(s, '/') + 1:]) : 0
load ARG0[1:dpm_slash(ARG0)].'style.gp'
DATA = ARG1
eval dpm_output(ARG2, 7.0, 2.9)

nsig = 3
lo = -7.5; hi = 7.5
array sig[nsig]
array cdt[nsig] = [3, 1, 1]
array clw[nsig] = [0.9, 2.2, 0.9]
array ccol[nsig] = [dpm_grey, dpm_sky, dpm_green]

# ---- contour lines of dist^2 (as sqrt(dist^2 - min), evenly spaced in distance) into $C1..$C3 ---------------------
set contour base
unset surface
set view map
set cntrparam cubicspline points 6 levels incremental 0.75, 1.5, 9
do for [i = 1:nsig] {
  stats DATA index sprintf('dist_%d', i) using 4 nooutput
  sig[i] = STATS_min
  eval sprintf('set table $C%d', i)
  splot DATA index sprintf('dist_%d', i) using 1:2:3 with lines notitle
  unset table
}
unset contour
set surface

array blk[2] = ['traj_ddim', 'traj_ge']
array ttl[2] = ['DDIM', 'gradient estimation (ge, γ = 2)']
array ttx[2] = ['DDIM', 'gradient estimation (ge, $\gamma = 2$)']
eval dpm_grid(1, 3, 2)
do for [dpm_pass = 1:2] {
  eval dpm_pass_begin
  set border 15 lw 1
  set xtics mirror in scale 0.5
  set ytics mirror in scale 0.5
  unset mxtics; unset mytics; unset grid; unset key; unset colorbox
  do for [i = 1:2] {
    eval dpm_panel(1, i)
    set xrange [lo:hi]; set yrange [lo:hi]
    set xtics -6, 3, 6; set ytics -6, 3, 6
    set xlabel dpm_L('{/:Italic x}_1', '$x_1$')
    if (i == 1) { set ylabel dpm_L('{/:Italic x}_2', '$x_2$'); set format y '%g' } else { unset ylabel; set format y '' }
    set title dpm_L(ttl[i], ttx[i])
    plot for [s = 1:nsig] sprintf('$C%d', s) using 1:2 with lines lw clw[s] dt cdt[s] lc rgb ccol[s] notitle, \
         DATA index blk[i] using 4:5 with lines lw 0.7 dt (2, 2) lc rgb dpm_vermillion notitle, \
         DATA index blk[i] using 4:5 with points pt 6 ps 0.35 lw 0.8 lc rgb dpm_vermillion notitle, \
         DATA index blk[i] using 2:3 with linespoints pt 7 ps 0.3 lw 1.4 dt 1 lc rgb dpm_blue notitle, \
         DATA index 'points' using 1:2 with points pt 5 ps 0.55 lc rgb dpm_black notitle
    eval dpm_panel_end
  }
  eval dpm_panel(1, 3)
  set logscale xy 10
  set xrange [*:*] reverse; set yrange [*:*]
  set autoscale xfix
  set xtics auto; set ytics auto
  set format x '10^{%T}'; set format y '10^{%T}'
  if (dpm_tex) { set format x '$10^{%T}$'; set format y '$10^{%T}$' }
  set xlabel dpm_L('{/:Italic σ_t}  (DDIM runs to the right)', '$\sigma_t$ (DDIM runs to the right)')
  set ylabel dpm_L('dist_{/:Italic K}({/:Italic x_t})', '$\mathrm{dist}_{\mathcal K}(x_t)$')
  set title dpm_L('distance bound along DDIM', 'distance bound along DDIM')
  set style fill transparent solid 0.22 noborder
  fl(v) = v > 1e-6 ? v : 1e-6
  plot DATA index 'bound_relerr' using 1:(fl($3)):4 with filledcurves lc rgb dpm_orange notitle, \
       DATA index 'bound_ideal' using 1:(fl($3)):4 with filledcurves lc rgb dpm_blue notitle, \
       DATA index 'bound_ideal' using 1:2 with linespoints pt 7 ps 0.45 lw 3.0 dt 1 lc rgb dpm_blue notitle, \
       DATA index 'bound_relerr' using 1:2 with linespoints pt 4 ps 0.35 lw 1.4 dt (5, 3) lc rgb dpm_vermillion notitle
  eval dpm_panel_end

  # ---- one key for the three panels, in the band across the top ------------------------------------------------
  eval dpm_key_begin(10)
  set key samplen 1.6 width 0.6
  set style fill transparent solid 0.22 noborder
  plot [0:1][0:1] \
    NaN with points pt 5 ps 0.55 lc rgb dpm_black title dpm_L('data {/:Italic K}', 'data $\mathcal K$'), \
    for [s = 1:nsig] NaN with lines lw clw[s] dt cdt[s] lc rgb ccol[s] \
        title dpm_L(sprintf('dist^2({/:Italic x}, %g)', sig[s]), sprintf('$\mathrm{dist}^2(x, %g)$', sig[s])), \
    NaN with linespoints pt 7 ps 0.3 lw 1.4 dt 1 lc rgb dpm_blue title dpm_L('{/:Italic x_t} (ideal {/:Italic ε}^*)', '$x_t$ (ideal $\epsilon^*$)'), \
    NaN with linespoints pt 6 ps 0.35 lw 0.7 dt (2, 2) lc rgb dpm_vermillion \
        title dpm_L('{/:Italic x̂}_0 = {/:Italic x_t} − {/:Italic σ_t ε}', '$\hat x_0 = x_t - \sigma_t\epsilon$'), \
    NaN with filledcurves lc rgb dpm_blue title dpm_L('bound, ideal {/:Italic ε}^*', 'bound, ideal $\epsilon^*$'), \
    NaN with linespoints pt 7 ps 0.45 lw 3.0 dt 1 lc rgb dpm_blue title dpm_L('dist, ideal {/:Italic ε}^*', 'dist, ideal $\epsilon^*$'), \
    NaN with linespoints pt 4 ps 0.35 lw 1.4 dt (5, 3) lc rgb dpm_vermillion \
        title dpm_L('relative-error model', 'relative-error model'), \
    NaN with filledcurves lc rgb dpm_orange title dpm_L('its bound', 'its bound')
  unset multiplot
}
