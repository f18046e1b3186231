# analytic_variance.gp — Analytic-DPM Figure 1 (Bao et al. ICLR 2022) on toy data: (a) beta_n, beta~_n and the optimal
# sigma*_n^2 with the band of the bounds [beta~_n, beta_n/alpha_n]; (b) the per-step negative-ELBO terms L_{n-1}/d of
# each variance, whose areas are the ELBOs; (c) each handcrafted variance's excess over the optimum's term. One row
# per data set (gmm1d, ring8); n >= 2 (n = 1 is the decoder, a log-likelihood rather than a KL term). sigma*^2 is drawn
# wide underneath so the handcrafted curves stay visible where they coincide with it.
# Usage: gnuplot -c plots/analytic_variance.gp build/data/analytic_variance.dat OUT.{pdf,png,svg,tex}
dpm_slash(s) = strstrt(s, '/') ? strstrt(s, '/') + dpm_slash(s[strstrt(s, '/') + 1:]) : 0
load ARG0[1:dpm_slash(ARG0)].'style.gp'
DATA = ARG1
eval dpm_output(ARG2, 7.0, 4.4)

array sets[2] = ['gmm1d', 'ring8']
array dims[2] = [1, 2]
band_colour = '#CFE3F1'
t_beta = dpm_L('{/:Italic β_n}', '$\beta_n$')
t_tilde = dpm_L('{/:Italic β̃}_{/:Italic n}', '$\tilde\beta_n$')
t_opt = dpm_L('{/:Italic σ}@_{/:Italic n}^{*2}', '$\sigma_n^{*2}$')

set logscale xy
set format x dpm_L('10^{%T}', '$10^{%T}$')
set format y dpm_L('10^{%T}', '$10^{%T}$')
set xrange [1:1000]
set xtics 10
set mxtics 10
set mytics 10

left = 0.072; right = 0.975; top = 0.89; bottom = 0.115; hgap = 0.085; vgap = 0.125
w = (right - left - 2 * hgap) / 3.0
h = (top - bottom - vgap) / 2.0
col(j) = left + (j - 1) * (w + hgap)

set multiplot
do for [i = 1:2] {
  blk = 'variance_'.sets[i]
  ytop = top - (i - 1) * (h + vgap)
  set tmargin at screen ytop
  set bmargin at screen ytop - h
  if (i == 2) {
    set xlabel dpm_L('step {/:Italic n}', 'step $n$')
  } else {
    unset xlabel
  }
  unset key

  # ---- (a) the variances -----------------------------------------------------------------------------------
  set lmargin at screen col(1)
  set rmargin at screen col(1) + w
  set title dpm_L(sprintf('(a) variances, %s ({/:Italic d} = %d)', sets[i], dims[i]), \
                  sprintf('(a) variances, \texttt{%s} ($d = %d$)', sets[i], dims[i]))
  set ylabel dpm_L('variance', 'variance')
  set yrange [1e-5:0.1]
  plot DATA index blk every ::1 using 1:3:5 with filledcurves lc rgb band_colour notitle, \
       '' index blk every ::1 using 1:4 with lines ls 1 lw 3 notitle, \
       '' index blk every ::1 using 1:2 with lines ls 2 notitle, \
       '' index blk every ::1 using 1:3 with lines ls 3 notitle

  # ---- (b) the per-step ELBO terms ---------------------------------------------------------------------------
  set lmargin at screen col(2)
  set rmargin at screen col(2) + w
  set title dpm_L(sprintf('(b) terms of −ELBO, %s', sets[i]), sprintf('(b) terms of $-$ELBO, \texttt{%s}', sets[i]))
  set ylabel dpm_L('{/:Italic L}_{{/:Italic n}−1} / {/:Italic d}  (nats)', '$L_{n-1}/d$ (nats)')
  set yrange [1e-6:1]
  plot DATA index blk every ::1 using 1:10 with lines ls 1 lw 3 notitle, \
       '' index blk every ::1 using 1:8 with lines ls 2 notitle, \
       '' index blk every ::1 using 1:9 with lines ls 3 notitle

  # ---- (c) excess over the optimum ---------------------------------------------------------------------------
  set lmargin at screen col(3)
  set rmargin at screen col(3) + w
  set title dpm_L(sprintf('(c) excess over {/:Italic σ}@_{/:Italic n}^{*2}, %s', sets[i]), \
                  sprintf('(c) excess over $\sigma_n^{*2}$, \texttt{%s}', sets[i]))
  set ylabel dpm_L('({/:Italic L}_{{/:Italic n}−1} − {/:Italic L}@^*_{{/:Italic n}−1}) / {/:Italic d}  (nats)', \
                   '$(L_{n-1} - L^*_{n-1})/d$ (nats)')
  set yrange [1e-12:1]
  set ytics 1e-12, 1e3, 1
  plot DATA index blk every ::1 using 1:11 with lines ls 2 notitle, \
       '' index blk every ::1 using 1:12 with lines ls 3 notitle
  set ytics autofreq
}

# ---- one key for all panels, across the top ---------------------------------------------------------------------
set lmargin at screen 0.0; set rmargin at screen 1.0; set tmargin at screen 1.0; set bmargin at screen 0.0
unset title; unset xlabel; unset ylabel; unset border; unset tics; unset grid; unset logscale
set key at screen 0.5, screen 0.995 center top horizontal maxrows 1 samplen 2.5 width -2
plot [0:1][0:1] \
  NaN with filledcurves lc rgb band_colour title dpm_L('bounds [{/:Italic β̃}_{/:Italic n}, {/:Italic β_n}/{/:Italic α_n}]', \
                                                       'bounds $[\tilde\beta_n, \beta_n/\alpha_n]$'), \
  NaN with lines ls 2 title t_beta, \
  NaN with lines ls 3 title t_tilde, \
  NaN with lines ls 1 lw 3 title t_opt
unset multiplot
