# bridge_toy.gp — the 2-D toy of Diffusion Schrödinger Bridge (De Bortoli et al. 2021): a mixture of eight Gaussians
# to N(0, I) for the reference dX = sigma dW. Left, bridge paths of Sinkhorn's plan composed with Brownian bridges
# between the two samples; then the time marginals p_t = phi_hat_t phi_t of IPF on a 2-D grid at three times, with
# the Sinkhorn paths' positions at the same times on top (docs/MATH.md §5.4, §5.5).
# Usage: gnuplot -c plots/bridge_toy.gp build/data/bridge_toy.dat OUT.{pdf,png,svg,tex}
dpm_slash(s) = strstrt(s, '/') ? strstrt(s, '/') + dpm_slash(s[strstrt(s, '/') + 1:]) : 0
load ARG0[1:dpm_slash(ARG0)].'style.gp'
DATA = ARG1
eval dpm_output(ARG2, 7.0, 2.45)

lim = 5
array tt[3]
do for [i = 1:3] {
  stats DATA index sprintf('p_%d', i) using 4 nooutput
  tt[i] = STATS_min
}
eval dpm_grid(1, 4, 1)
do for [dpm_pass = 1:2] {
  eval dpm_pass_begin
  set border 15 lw 1
  set xtics mirror in scale 0.5
  set ytics mirror in scale 0.5
  unset key; unset colorbox; unset grid
  set size ratio -1
  set xrange [-lim:lim]; set yrange [-lim:lim]
  set xtics -4, 2, 4; set ytics -4, 2, 4
  set xlabel dpm_L('{/:Italic x}_1', '$x_1$')

  eval dpm_panel(1, 1)
  set ylabel dpm_L('{/:Italic x}_2', '$x_2$')
  set title dpm_L('bridge paths (Sinkhorn)', 'bridge paths (Sinkhorn)')
  plot DATA index 'paths' using 2:3 with lines lw 0.45 dt 1 lc rgb dpm_grey notitle, \
       DATA index 'paths' using ($1 == 0 ? $2 : NaN):3 with points pt 7 ps 0.3 lc rgb dpm_vermillion notitle, \
       DATA index 'paths' using ($1 == 1 ? $2 : NaN):3 with points pt 7 ps 0.3 lc rgb dpm_blue notitle
  eval dpm_panel_end

  unset ylabel
  set format y ''
  do for [i = 1:3] {
    eval dpm_panel(1, i + 1)
    set title dpm_L(sprintf('grid IPF {/:Italic p_t}, {/:Italic t} = %g', tt[i]), sprintf('grid IPF $p_t$, $t = %g$', tt[i]))
    plot DATA index sprintf('p_%d', i) using 1:2:3 with image notitle, \
         DATA index sprintf('at_%d', i) using 1:2 with points pt 7 ps 0.14 lc rgb dpm_orange notitle
    eval dpm_panel_end
  }

  eval dpm_key_begin(5)
  set key samplen 1.6 width 0.4
  plot [0:1][0:1] \
    NaN with points pt 7 ps 0.5 lc rgb dpm_vermillion title dpm_L('{/:Italic X}_0 ∼ 8 Gaussians', '$X_0 \sim$ 8 Gaussians'), \
    NaN with points pt 7 ps 0.5 lc rgb dpm_blue title dpm_L('{/:Italic X}_1 ∼ N(0, {/:Italic I})', '$X_1 \sim N(0, I)$'), \
    NaN with lines lw 0.8 dt 1 lc rgb dpm_grey title dpm_L('paths', 'paths'), \
    NaN with points pt 7 ps 0.5 lc rgb dpm_orange title dpm_L('Sinkhorn paths at {/:Italic t}', 'Sinkhorn paths at $t$'), \
    NaN with boxes fs solid 1.0 lc rgb '#21918C' title dpm_L('grid IPF density (viridis)', 'grid IPF density (viridis)')
  unset multiplot
}
