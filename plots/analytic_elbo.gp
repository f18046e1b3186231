# analytic_elbo.gp — Analytic-DPM (Bao et al. ICLR 2022, Table 1 as a figure): the gap -ELBO - H(q_0) = KL(q || p)
# against the number of steps K for DDPM-beta, DDPM-beta~ and Analytic-DPM on the even (ET, solid) and the
# dynamic-programming (OT, dashed) trajectories; one panel per schedule.
# Usage: gnuplot -c plots/analytic_elbo.gp build/data/analytic_elbo.dat OUT.{pdf,png,svg,tex}
dpm_slash(s) = strstrt(s, '/') ? strstrt(s, '/') + dpm_slash(s[strstrt(s, '/') + 1:]) : 0
load ARG0[1:dpm_slash(ARG0)].'style.gp'
DATA = ARG1
eval dpm_output(ARG2, 7.0, 2.9)

array scheds[2] = ['linear', 'cosine']
array vstyle[3] = [2, 3, 1]           # beta: vermillion, beta~: green, analytic: blue
array pfill[3] = [5, 9, 7]            # filled square, triangle, circle (ET)
array popen[3] = [4, 8, 6]            # the same open (OT)
array vname[3] = ['beta', 'beta~', 'analytic']   # column gap_<vname>_<ET|OT>
array tname[2] = ['ET', 'OT']
array vtitle[3]
vtitle[1] = dpm_L('DDPM {/:Italic β}', 'DDPM $\beta$')
vtitle[2] = dpm_L('DDPM '.dpm_tilde('{/:Italic β}'), 'DDPM $\tilde\beta$')
vtitle[3] = dpm_L('Analytic-DPM {/:Italic σ}^{*2}', 'Analytic-DPM $\sigma^{*2}$')
array cols[2]
do for [c = 1:2] { cols[c] = dpm_cols(DATA, 'gap_'.scheds[c]) }
# the column of the gap of schedule c, trajectory t (1 ET, 2 OT), variance v
gapcol(c, t, v) = dpm_col(cols[c], sprintf('gap_%s_%s', vname[v], tname[t]))

eval dpm_grid(1, 2, 2)
do for [dpm_pass = 1:2] {
  eval dpm_pass_begin
  # solid (ET, 30 + style) and dashed (OT, 20 + style) variants of the three methods' line styles
  do for [v = 1:3] {
    eval sprintf("set style line %d lc rgb '%s' lw 1.5 dt 1", 30 + vstyle[v], dpm_colour[vstyle[v]])
    eval sprintf("set style line %d lc rgb '%s' lw 1.5 dt (5, 3)", 20 + vstyle[v], dpm_colour[vstyle[v]])
  }
  set logscale xy
  set xrange [7:1400]
  set xtics (10, 25, 50, 100, 200, 1000)
  unset mxtics
  set format y dpm_L('10^{%T}', '$10^{%T}$')
  set mytics 10
  set xlabel dpm_L('number of steps {/:Italic K}', 'number of steps $K$')
  set ylabel dpm_L('gap −ELBO − {/:Italic H}({/:Italic q}_0)  (nats)', 'gap $-$ELBO$ - H(q_0)$ (nats)')
  do for [c = 1:2] {
    eval dpm_panel(1, c)
    blk = 'gap_'.scheds[c]
    set title dpm_L(sprintf('%s schedule, gmm1d, {/:Italic N} = 1000', scheds[c]), \
                    sprintf('%s schedule, \texttt{gmm1d}, $N = 1000$', scheds[c]))
    plot for [v = 1:3] DATA index blk using dpm_col(cols[c], 'K'):gapcol(c, 1, v) with linespoints \
           ls 30 + vstyle[v] pt pfill[v] ps 0.7 notitle, \
         for [v = 1:3] DATA index blk using dpm_col(cols[c], 'K'):gapcol(c, 2, v) with linespoints \
           ls 20 + vstyle[v] pt popen[v] ps 0.7 notitle
    eval dpm_panel_end
  }

  # ---- one key for both panels, in the band across the top: one column per method, ET above OT (a key fills
  # column by column) -----------------------------------------------------------------------------------------------
  eval dpm_key_begin(6)
  set key samplen 3 width 1.0
  plot [0:1][0:1] \
    for [j = 1:6] NaN with linespoints ls (j % 2 ? 30 : 20) + vstyle[(j + 1) / 2] \
        pt (j % 2 ? pfill[(j + 1) / 2] : popen[(j + 1) / 2]) ps 0.7 \
        title vtitle[(j + 1) / 2].(j % 2 ? ', even (ET)' : ', DP (OT)')
  unset multiplot
}
