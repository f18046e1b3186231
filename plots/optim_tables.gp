# optim_tables.gp — Permenter & Yuan's sampler table as a figure, toy edition: the energy distance of each sampler's
# draws to exact draws of q_0 (ring8, EDM process with the DDPM's sigma range, exact denoiser, log-linear sigma)
# against the number of steps N on log-log axes; and the gradient-estimation sampler's against its weight gamma at
# N = 10 with one standard error (arXiv 2306.04848, Algorithm 2; docs/samplers.md).
# Usage: gnuplot -c plots/optim_tables.gp build/data/optim_tables.dat OUT.{pdf,png,svg,tex}
dpm_slash(s) = strstrt(s, '/') ? strstrt(s, '/') + dpm_slash(s[strstrt(s, '/') + 1:]) : 0
load ARG0[1:dpm_slash(ARG0)].'style.gp'
DATA = ARG1
eval dpm_output(ARG2, 7.0, 3.2)

names = dpm_cols(DATA, 'samplers')
ns = words(names)
keycols = 4
keyrows = int(ceil((ns + 1) / real(keycols)))
# energy distances below efloor (within rounding of 0, or negative: the unbiased statistic) are drawn at efloor
efloor = 1e-4
array sty[7] = [1, 2, 3, 4, 5, 6, 8]
array pts[16] = [7, 5, 9, 13, 11, 15, 6, 4, 1, 2, 3, 8, 10, 12, 14, 16]
stats DATA index 'floor' using 2 nooutput
se0 = STATS_max

eval dpm_grid(1, 2, keyrows)
do for [dpm_pass = 1:2] {
  eval dpm_pass_begin
  set logscale xy
  set xrange [4:60]
  set xtics (5, 10, 20, 50)
  unset mxtics
  set format y dpm_L('10^{%T}', '$10^{%T}$')
  set mytics 10
  set xlabel dpm_L('number of steps {/:Italic N}', 'number of steps $N$')
  set ylabel dpm_L('energy distance to exact draws', 'energy distance to exact draws')
  eval dpm_panel(1, 1)
  set label 1 dpm_L('at 10^{-4}: {/:Italic E} ≤ 10^{-4}', 'at $10^{-4}$: $E \le 10^{-4}$') at graph 0.97, graph 0.93 right
  set title dpm_L('ring8, EDM, log-linear {/:Italic σ}', '\texttt{ring8}, EDM, log-linear $\sigma$')
  plot 2 * se0 with lines lw 0.8 dt (4, 3) lc rgb dpm_grey notitle, \
       for [i = 1:ns] DATA index sprintf('smp%02d', i) using 1:($3 < efloor ? efloor : $3) with linespoints \
         ls sty[((i - 1) % 7) + 1] lw 1.2 pt pts[i] ps 0.6 notitle
  eval dpm_panel_end

  eval dpm_panel(1, 2)
  unset label 1
  unset logscale
  set xrange [0.8:3.2]
  set xtics (1, 1.5, 2, 2.5, 3)
  set format y '%g'
  set mytics 2
  set xlabel dpm_L('{/:Italic γ}', '$\gamma$')
  set title dpm_L('ge at {/:Italic N} = 10, ± 1 s.e.', '\texttt{ge} at $N = 10$, $\pm$ 1 s.e.')
  plot 0 with lines lw 0.8 dt (4, 3) lc rgb dpm_grey notitle, \
       DATA index 'gamma' using 1:2:3 with yerrorbars ls 1 lw 1.2 pt 7 ps 0.6 notitle, \
       DATA index 'gamma' using 1:2 with lines ls 1 lw 1.2 notitle
  eval dpm_panel_end

  eval dpm_key_begin(ns + 1)
  set key samplen 2.5 width 0.5
  plot [0:1][0:1] for [i = 1:ns] NaN with linespoints ls sty[((i - 1) % 7) + 1] lw 1.2 pt pts[i] ps 0.6 \
    title word(names, i), \
    NaN with lines lw 0.8 dt (4, 3) lc rgb dpm_grey title dpm_L('2 s.e. of exact draws', '2 s.e.\ of exact draws')
  unset multiplot
}
