# ideal_denoiser.gp — the Permenter–Yuan picture (arXiv 2306.04848): for three sigma, the direction field of the ideal
# denoiser -eps*(x, sigma), contours of the smoothed distance, and denoising x - sigma eps* as approximate projection.
# Usage: gnuplot -c plots/ideal_denoiser.gp build/data/ideal_denoiser.dat OUT.{pdf,png,svg,tex}
dpm_slash(s) = strstrt(s, '/') ? strstrt(s, '/') + dpm_slash(s[strstrt(s, '/') + 1:]) : 0
load ARG0[1:dpm_slash(ARG0)].'style.gp'
DATA = ARG1
eval dpm_output(ARG2, 7.0, 2.9)

lo = -2.75; hi = 2.75
L = 0.62 * (hi - lo) / 17          # arrow length: 62% of the arrow spacing
# Contours are level sets of dist^2(x, sigma), drawn at evenly spaced values of sqrt(dist^2 - min dist^2) (the minimum
# over the panel; a constant does not move level sets) so they are evenly spaced in distance, like circles of radius
# 0.5, 1, 1.5, ... around each point at small sigma.
nsig = 3
contour_colour = dpm_sky
field_colour = '#555555'

array sig[nsig]

# ---- contour lines of dist^2 for each sigma, into datablocks $C1..$C3 ---------------------------------------------
set contour base
unset surface
set view map
set cntrparam cubicspline points 6 levels incremental 0.5, 0.5, 6
do for [i = 1:nsig] {
  stats DATA index sprintf('proj_%d', i) using 7 nooutput
  sig[i] = STATS_min
  stats DATA index sprintf('dist2_%d', i) using 3 nooutput
  dmin = STATS_min
  eval sprintf('set table $C%d', i)
  splot DATA index sprintf('dist2_%d', i) using 1:2:(sqrt($3 - dmin)) with lines notitle
  unset table
}
unset contour
set surface

# ---- panels: equal plot areas under a key band, margins measured on the labels (style.gp) ------------------------
array what[nsig] = ['small', 'medium', 'large']
eval dpm_grid(1, 3, 2)
do for [dpm_pass = 1:2] {
  eval dpm_pass_begin
  set border 15 lw 1
  set xtics mirror in scale 0.5
  set ytics mirror in scale 0.5
  unset x2tics; unset y2tics
  unset grid
  set xrange [lo:hi]; set yrange [lo:hi]
  set xtics -2, 1, 2; set ytics -2, 1, 2
  unset mxtics; unset mytics
  set xlabel dpm_L('{/:Italic x}_1', '$x_1$') offset 0, 0.6
  unset colorbox
  unset key
  do for [i = 1:nsig] {
    eval dpm_panel(1, i)
    set title dpm_L(sprintf('{/:Italic σ} = %g (%s)', sig[i], what[i]), sprintf('$\sigma = %g$ (%s)', sig[i], what[i])) \
        offset 0, -0.6
    if (i == 1) {
      set ylabel dpm_L('{/:Italic x}_2', '$x_2$')
      set format y '%g'
    } else {
      unset ylabel
      set format y ''
    }
    plot \
      sprintf('$C%d', i) using 1:2 with lines lw 0.9 dt 1 lc rgb contour_colour notitle, \
      DATA index sprintf('field_%d', i) using ($1 - L * $3 / 2):($2 - L * $4 / 2):(L * $3):(L * $4) \
           with vectors head filled size 0.05, 22, 50 lw 0.7 dt 1 lc rgb field_colour notitle, \
      DATA index sprintf('proj_%d', i) using 1:2:($5 - $1):($6 - $2) with vectors nohead dt (1.5, 2.5) lw 1.2 \
           lc rgb dpm_black notitle, \
      DATA index sprintf('proj_%d', i) using 1:2:($3 - $1):($4 - $2) with vectors head filled size 0.14, 20, 40 \
           lw 1.6 dt 1 lc rgb dpm_vermillion notitle, \
      DATA index 'points' using 1:2 with points pt 7 ps 0.5 lc rgb dpm_black notitle, \
      DATA index sprintf('proj_%d', i) using 1:2 with points pt 6 ps 0.55 lw 1.2 lc rgb dpm_vermillion notitle, \
      DATA index sprintf('proj_%d', i) using 3:4 with points pt 13 ps 0.6 lc rgb dpm_vermillion notitle
    eval dpm_panel_end
  }

  # ---- one key for the three panels, in the band across the top ------------------------------------------------
  eval dpm_key_begin(6)
  set key samplen 1.6 width 0.8
  plot [0:1][0:1] \
    NaN with vectors head filled size 0.05, 22, 50 lw 0.7 dt 1 lc rgb field_colour \
        title dpm_L('−{/:Italic ε}^*({/:Italic x}, {/:Italic σ})', '$-\epsilon^*(x,\sigma)$'), \
    NaN with lines lw 0.9 dt 1 lc rgb contour_colour title dpm_L('dist^2({/:Italic x}, {/:Italic σ}) contours', '$\mathrm{dist}^2_{\mathcal K}(x,\sigma)$'), \
    NaN with points pt 7 ps 0.5 lc rgb dpm_black title dpm_L('data {/:Italic K}', 'data $\mathcal K$'), \
    NaN with points pt 6 ps 0.55 lw 1.2 lc rgb dpm_vermillion title dpm_L('start {/:Italic x}', 'start $x$'), \
    NaN with linespoints pt 13 ps 0.6 lw 1.6 dt 1 lc rgb dpm_vermillion title dpm_L('{/:Italic x} − {/:Italic σε}^*', '$x - \sigma\epsilon^*$'), \
    NaN with lines dt (1.5, 2.5) lw 1.2 lc rgb dpm_black title dpm_L('to proj({/:Italic x})', 'to $\mathrm{proj}_{\mathcal K}(x)$')
  unset multiplot
}
