# scorematch_tv.gp — the three regimes of the TV convergence bound of De Bortoli et al. (2021, Thm 1) in 1-D
# (docs/MATH.md §4.4): TV(generated, data) against the horizon T with the prior mismatch, its Pinsker bound and the
# steps term (its floor); the steps term against the step size gamma with the slopes 1 and 1/2 (the bound's); the score term
# against the relative score error eta with its Girsanov bound.
# Usage: gnuplot -c plots/scorematch_tv.gp build/data/scorematch_tv.dat OUT.{pdf,png,svg,tex}
dpm_slash(s) = strstrt(s, '/') ? strstrt(s, '/') + dpm_slash(s[strstrt(s, '/') + 1:]) : 0
load ARG0[1:dpm_slash(ARG0)].'style.gp'
DATA = ARG1
eval dpm_output(ARG2, 7.0, 2.7)

HT = dpm_cols(DATA, 'T')
tT = dpm_col(HT, 'T'); tTV = dpm_col(HT, 'tv'); tP = dpm_col(HT, 'tv_prior'); tB = dpm_col(HT, 'prior_bound')
tD = dpm_col(HT, 'tv_disc')
HG = dpm_cols(DATA, 'gamma')
gG = dpm_col(HG, 'gamma'); gD = dpm_col(HG, 'tv_disc'); gR1 = dpm_col(HG, 'ref_slope1'); gRh = dpm_col(HG, 'ref_slope_half')
HE = dpm_cols(DATA, 'eta')
eE = dpm_col(HE, 'eta'); eS = dpm_col(HE, 'tv_score'); eB = dpm_col(HE, 'score_bound'); eTV = dpm_col(HE, 'tv')

eval dpm_grid(1, 3, 3)
do for [dpm_pass = 1:2] {
  eval dpm_pass_begin
  set format y '10^{%T}'
  if (dpm_tex) { set format y '$10^{%T}$' }
  # ---- against T ---------------------------------------------------------------------------------------------------
  eval dpm_panel(1, 1)
  set logscale y 10
  set xlabel dpm_L('horizon {/:Italic T}', 'horizon $T$')
  set ylabel dpm_L('total variation', 'total variation')
  set title dpm_L('prior term: e^{−{/:Italic T}}, then the step floor', 'prior term: $e^{-T}$, then the step floor')
  plot DATA index 'T' using tT:tB with lines ls 3 notitle, \
       DATA index 'T' using tT:tP with linespoints ls 2 notitle, \
       DATA index 'T' using tT:tD with lines ls 4 notitle, \
       DATA index 'T' using tT:tTV with linespoints ls 1 notitle
  eval dpm_panel_end
  # ---- against gamma -----------------------------------------------------------------------------------------------
  eval dpm_panel(1, 2)
  set logscale xy 10
  set format x '10^{%T}'
  if (dpm_tex) { set format x '$10^{%T}$' }
  set xlabel dpm_L('step size {/:Italic γ} = {/:Italic T}/{/:Italic N}', 'step size $\gamma = T/N$')
  unset ylabel
  set title dpm_L('steps term: slope 1, bound ½', 'steps term: slope 1, bound $\frac12$')
  plot DATA index 'gamma' using gG:gRh with lines ls 5 notitle, \
       DATA index 'gamma' using gG:gR1 with lines lw 1.0 dt 1 lc rgb dpm_grey notitle, \
       DATA index 'gamma' using gG:gD with linespoints ls 4 notitle
  eval dpm_panel_end
  # ---- against eta -------------------------------------------------------------------------------------------------
  eval dpm_panel(1, 3)
  set xlabel dpm_L('relative score error {/:Italic η}', 'relative score error $\eta$')
  set title dpm_L('score term: linear, under Girsanov', 'score term: linear, under Girsanov')
  plot DATA index 'eta' using eE:eB with lines ls 3 notitle, \
       DATA index 'eta' using eE:eS with linespoints ls 6 notitle, \
       DATA index 'eta' using eE:eTV with linespoints ls 1 notitle
  eval dpm_panel_end
  # ---- key -----------------------------------------------------------------------------------------------------------
  eval dpm_key_begin(9)
  plot [0:1][0:1] \
    NaN with linespoints ls 1 title dpm_L('TV(generated, data)', 'TV(generated, data)'), \
    NaN with linespoints ls 2 title dpm_L('TV(N(0,1), {/:Italic q_T})', 'TV$(N(0,1), q_T)$'), \
    NaN with lines ls 3 title dpm_L('bound: Pinsker / Girsanov', 'bound: Pinsker / Girsanov'), \
    NaN with lines lw 1.0 dt 1 lc rgb dpm_grey title dpm_L('slope 1', 'slope 1'), \
    NaN with linespoints ls 4 title dpm_L('steps term (start at {/:Italic q_T})', 'steps term (start at $q_T$)'), \
    NaN with lines ls 5 title dpm_L('slope ½ (the bound’s rate)', 'slope $\frac12$ (the bound''s rate)'), \
    NaN with linespoints ls 6 title dpm_L('score term TV(out_{/:Italic η}, out_0)', 'score term TV(out$_\eta$, out$_0$)')
  unset multiplot
}
