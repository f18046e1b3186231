# analytic_quality.gp — Analytic-DPM (Bao et al. ICLR 2022, Table 2 as a figure): sample quality against the number
# of steps K on the even trajectory for Analytic-DDPM, DDPM (beta~), Analytic-DDIM and DDIM with the exact denoiser;
# left the exact W1 to q_0 (gmm1d), right the closed-form MMD^2 to q_0 (ring8); error bars one standard error over
# independent sample sets, the grey band the metric of exact samples (its Monte Carlo floor).
# Usage: gnuplot -c plots/analytic_quality.gp build/data/analytic_trajectory.dat OUT.{pdf,png,svg,tex}
dpm_slash(s) = strstrt(s, '/') ? strstrt(s, '/') + dpm_slash(s[strstrt(s, '/') + 1:]) : 0
load ARG0[1:dpm_slash(ARG0)].'style.gp'
DATA = ARG1
eval dpm_output(ARG2, 7.0, 2.9)

array sets[2] = ['gmm1d', 'ring8']
array mstyle[4] = [1, 2, 3, 4]
array mtitle[4]
mtitle[1] = 'Analytic-DDPM'
mtitle[2] = 'DDPM ('.dpm_tilde('{/:Italic β}').')'
mtitle[3] = 'Analytic-DDIM'
mtitle[4] = 'DDIM'
array mtitle_tex[4] = ['Analytic-DDPM', 'DDPM ($\tilde\beta$)', 'Analytic-DDIM', 'DDIM']
array ylab[2]
ylab[1] = dpm_L('{/:Italic W}_1(samples, {/:Italic q}_0)', '$W_1(\text{samples}, q_0)$')
ylab[2] = dpm_L('MMD^2(samples, {/:Italic q}_0)', '$\mathrm{MMD}^2(\text{samples}, q_0)$')
array ttl[2]
ttl[1] = dpm_L('gmm1d: exact {/:Italic W}_1, 20 000 samples', '\texttt{gmm1d}: exact $W_1$, 20\,000 samples')
ttl[2] = dpm_L('ring8: MMD^2 ({/:Italic h} = 0.2), 2000 samples', '\texttt{ring8}: $\mathrm{MMD}^2$ ($h = 0.2$), 2000 samples')
# The blocks quality_<set> hold K, then mean and standard error for each method in the order of mtitle, then the
# mean and standard error of exact samples (the floor): columns 2m, 2m + 1 and fcol, fcol + 1.
fcol = 10

# y range of each panel from the data: the lowest floor band edge and mean to the highest mean, padded by a third
# of a decade (stats cannot run inside the multiplot)
array ylo[2]; array yhi[2]
do for [i = 1:2] {
  blk = 'quality_'.sets[i]
  stats DATA index blk using (column(fcol) - 2 * column(fcol + 1)) nooutput
  ylo[i] = STATS_min
  yhi[i] = 0
  do for [m = 1:4] {
    stats DATA index blk using (column(2 * m) - column(2 * m + 1)) nooutput
    ylo[i] = (STATS_min < ylo[i] ? STATS_min : ylo[i])
    stats DATA index blk using (column(2 * m) + column(2 * m + 1)) nooutput
    yhi[i] = (STATS_max > yhi[i] ? STATS_max : yhi[i])
  }
}

eval dpm_grid(1, 2, 2)
do for [dpm_pass = 1:2] {
  eval dpm_pass_begin
  set logscale xy
  set xrange [8:125]
  set xtics (10, 25, 50, 100)
  unset mxtics
  # labelled ticks at 1, 2 and 5 times each power of ten: the panels span only one or two decades
  set format y '%g'
  set ytics 1e-6, 10
  do for [e = -6:0] { set ytics add (2 * 10.0**e, 5 * 10.0**e) }
  set mytics 10
  set xlabel dpm_L('number of steps {/:Italic K}', 'number of steps $K$')
  do for [i = 1:2] {
    eval dpm_panel(1, i)
    blk = 'quality_'.sets[i]
    set title ttl[i]
    set ylabel ylab[i]
    set yrange [ylo[i] / 2.0:yhi[i] * 2.0]
    plot DATA index blk using 1:(column(fcol) - 2 * column(fcol + 1)):(column(fcol) + 2 * column(fcol + 1)) \
           with filledcurves lc rgb dpm_lightgrey notitle, \
         DATA index blk using 1:fcol with lines lw 1.0 dt (4, 3) lc rgb dpm_grey notitle, \
         for [m = 1:4] DATA index blk using 1:(column(2 * m)):(column(2 * m + 1)) with yerrorlines ls mstyle[m] \
           ps 0.6 notitle
    eval dpm_panel_end
  }

  # ---- one key for both panels, in the band across the top ---------------------------------------------------
  eval dpm_key_begin(5)
  set key samplen 2.5 width 0.5
  plot [0:1][0:1] \
    for [m = 1:4] NaN with linespoints ls mstyle[m] ps 0.6 title dpm_L(mtitle[m], mtitle_tex[m]), \
    NaN with filledcurves lc rgb dpm_lightgrey title dpm_L('exact samples ± 2 s.e.', 'exact samples $\pm$ 2 s.e.')
  unset multiplot
}
