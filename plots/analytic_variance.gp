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
t_tilde = dpm_L(dpm_tilde('{/:Italic β}').'_{/:Italic n}', '$\tilde\beta_n$')
t_opt = dpm_L('{/:Italic σ}_{/:Italic n}^{*2}', '$\sigma_n^{*2}$')
array cols[2]
do for [i = 1:2] { cols[i] = dpm_cols(DATA, 'variance_'.sets[i]) }
c(i, name) = dpm_col(cols[i], name)

eval dpm_grid(2, 3, 1)
do for [dpm_pass = 1:2] {
  eval dpm_pass_begin
  set logscale xy
  set format x dpm_L('10^{%T}', '$10^{%T}$')
  set format y dpm_L('10^{%T}', '$10^{%T}$')
  set xrange [1:1000]
  set xtics 10
  set mxtics 10
  set mytics 10
  set xlabel dpm_L('step {/:Italic n}', 'step $n$')
  do for [i = 1:2] {
    blk = 'variance_'.sets[i]

    # ---- (a) the variances ---------------------------------------------------------------------------------
    eval dpm_panel(i, 1)
    set title dpm_L(sprintf('(a) variances, %s ({/:Italic d} = %d)', sets[i], dims[i]), \
                    sprintf('(a) variances, \texttt{%s} ($d = %d$)', sets[i], dims[i]))
    set ylabel dpm_L('variance', 'variance')
    set yrange [1e-5:0.1]
    set ytics autofreq
    plot DATA index blk every ::1 using c(i, 'n'):c(i, 'beta~_n'):c(i, 'beta_n/alpha_n') with filledcurves \
           lc rgb band_colour notitle, \
         '' index blk every ::1 using c(i, 'n'):c(i, 'sigma*_n^2') with lines ls 1 lw 3 notitle, \
         '' index blk every ::1 using c(i, 'n'):c(i, 'beta_n') with lines ls 2 notitle, \
         '' index blk every ::1 using c(i, 'n'):c(i, 'beta~_n') with lines ls 3 notitle
    eval dpm_panel_end

    # ---- (b) the per-step ELBO terms -------------------------------------------------------------------------
    eval dpm_panel(i, 2)
    set title dpm_L(sprintf('(b) terms of −ELBO, %s', sets[i]), sprintf('(b) terms of $-$ELBO, \texttt{%s}', sets[i]))
    set ylabel dpm_L('{/:Italic L}_{{/:Italic n}−1} / {/:Italic d}  (nats)', '$L_{n-1}/d$ (nats)')
    set yrange [1e-6:1]
    plot DATA index blk every ::1 using c(i, 'n'):c(i, 'L_opt/d') with lines ls 1 lw 3 notitle, \
         '' index blk every ::1 using c(i, 'n'):c(i, 'L_beta/d') with lines ls 2 notitle, \
         '' index blk every ::1 using c(i, 'n'):c(i, 'L_beta~/d') with lines ls 3 notitle
    eval dpm_panel_end

    # ---- (c) excess over the optimum -------------------------------------------------------------------------
    eval dpm_panel(i, 3)
    set title dpm_L(sprintf('(c) excess over {/:Italic σ}_{/:Italic n}^{*2}, %s', sets[i]), \
                    sprintf('(c) excess over $\sigma_n^{*2}$, \texttt{%s}', sets[i]))
    set ylabel dpm_L('({/:Italic L}_{{/:Italic n}−1} − {/:Italic L}^*_{{/:Italic n}−1}) / {/:Italic d}  (nats)', \
                     '$(L_{n-1} - L^*_{n-1})/d$ (nats)')
    set yrange [1e-12:1]
    set ytics 1e-12, 1e3, 1
    plot DATA index blk every ::1 using c(i, 'n'):c(i, 'excess_beta/d') with lines ls 2 notitle, \
         '' index blk every ::1 using c(i, 'n'):c(i, 'excess_beta~/d') with lines ls 3 notitle
    eval dpm_panel_end
  }

  # ---- one key for all panels, in the band across the top ----------------------------------------------------
  eval dpm_key_begin(4)
  set key samplen 2.5 width 1
  plot [0:1][0:1] \
    NaN with filledcurves lc rgb band_colour \
      title dpm_L('bounds ['.t_tilde.', {/:Italic β_n}/{/:Italic α_n}]', 'bounds $[\tilde\beta_n, \beta_n/\alpha_n]$'), \
    NaN with lines ls 2 title t_beta, \
    NaN with lines ls 3 title t_tilde, \
    NaN with lines ls 1 lw 3 title t_opt
  unset multiplot
}
