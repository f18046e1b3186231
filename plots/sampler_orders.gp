# sampler_orders.gp — measured orders of accuracy: the global error mean |x_K - x_ref| of every deterministic
# sampler of the table against its NFE on log-log axes (VP SDE, grid uniform in lambda, 1-D mixture), with grey
# reference lines of slope -p for the nominal orders p (Lu et al. NeurIPS 2022, Theorem 3.2; docs/samplers.md).
# Usage: gnuplot -c plots/sampler_orders.gp build/data/sampler_orders.dat OUT.{pdf,png,svg,tex}
dpm_slash(s) = strstrt(s, '/') ? strstrt(s, '/') + dpm_slash(s[strstrt(s, '/') + 1:]) : 0
load ARG0[1:dpm_slash(ARG0)].'style.gp'
DATA = ARG1
eval dpm_output(ARG2, 5.0, 4.0)

names = dpm_cols(DATA, 'samplers')
ns = words(names)
keycols = 4
keyrows = ns < 1 ? 1 : int(ceil(ns / real(keycols)))
# errors below 1e-15 are rounding: drawn at the floor
efloor = 1e-15
# a line style per sampler: the Okabe–Ito styles (colour and dash) but yellow, too faint on white for a thin line,
# then again with other points
array sty[7] = [1, 2, 3, 4, 5, 6, 8]
array pts[16] = [7, 5, 9, 13, 11, 15, 6, 4, 1, 2, 3, 8, 10, 12, 14, 16]
array otitle[4] = ['slope −1', 'slope −2', 'slope −3', 'slope −4']

# the NFE range of the data, widened on the right for the labels of the reference lines
stats DATA index 'slopes' using 1 nooutput
nfe_lo = STATS_min / 1.5; nfe_hi = STATS_max * 6

eval dpm_grid(1, 1, keyrows)
do for [dpm_pass = 1:2] {
  eval dpm_pass_begin
  set logscale xy
  set xrange [nfe_lo:nfe_hi]
  set format y '10^{%T}'
  set format x '%g'
  set mxtics 10
  set mytics 10
  set xlabel dpm_L('number of function evaluations (NFE)', 'number of function evaluations (NFE)')
  set ylabel dpm_L('mean |{/:Italic x_K} − {/:Italic x}_{ref}|', '$\mathrm{mean}\,|x_K - x_\mathrm{ref}|$')
  eval dpm_panel(1, 1)
  set title dpm_L('gmm1d, VP, grid uniform in {/:Italic λ}', '\texttt{gmm1d}, VP, grid uniform in $\lambda$')
  plot for [p = 1:4] DATA index 'slopes' using 1:(column(1 + p)) with lines lw 0.8 dt (4, 3) lc rgb dpm_grey notitle, \
       for [p = 1:4] DATA index 'slopes' every ::20::20 using 1:(column(1 + p)):(otitle[p]) with labels left \
         offset 0.5, 0 textcolor rgb dpm_grey font ',7' notitle, \
       for [i = 1:ns] DATA index sprintf('err%02d', i) using 2:($3 < efloor ? efloor : $3) with linespoints \
         ls sty[((i - 1) % 7) + 1] lw 1.2 pt pts[i] ps 0.6 notitle
  eval dpm_panel_end
  eval dpm_key_begin(ns)
  set key samplen 2.5 width 0.5
  plot [0:1][0:1] for [i = 1:ns] NaN with linespoints ls sty[((i - 1) % 7) + 1] lw 1.2 pt pts[i] ps 0.6 \
    title word(names, i)
  unset multiplot
}
