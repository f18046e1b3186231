# scorematch_objectives.gp — the score-matching objectives of a 1-D mixture at one noise level (docs/MATH.md §4.4):
# left, Fisher divergence, implicit SM (Hyvarinen), sliced SM (Song et al. 2019) and DSM (Vincent) of the exact score
# of a mixture with means shifted by delta, against delta; middle, the gaps DSM - SM and Fisher - SM with their
# standard errors against the constants d/s^2 and d Gamma/s^2; right, exact least-squares DSM fits of linear models
# against their number of features: the relative Fisher divergence (also from DSM minus its floor d(1 - Gamma)/s^2)
# and the relative error of the second-order (Laplacian) fit.
# Usage: gnuplot -c plots/scorematch_objectives.gp build/data/scorematch_objectives.dat OUT.{pdf,png,svg,tex}
dpm_slash(s) = strstrt(s, '/') ? strstrt(s, '/') + dpm_slash(s[strstrt(s, '/') + 1:]) : 0
load ARG0[1:dpm_slash(ARG0)].'style.gp'
DATA = ARG1
eval dpm_output(ARG2, 7.0, 2.7)

H = dpm_cols(DATA, 'delta')
cD = dpm_col(H, 'delta'); cF = dpm_col(H, 'fisher'); cS = dpm_col(H, 'sm'); cSs = dpm_col(H, 'sm_se')
cDS = dpm_col(H, 'dsm'); cSS = dpm_col(H, 'ssm'); cSSs = dpm_col(H, 'ssm_se')
cG1 = dpm_col(H, 'dsm_minus_sm'); cG1s = dpm_col(H, 'dsm_minus_sm_se'); cC1 = dpm_col(H, 'c_dsm')
cG2 = dpm_col(H, 'fisher_minus_sm'); cG2s = dpm_col(H, 'fisher_minus_sm_se'); cC2 = dpm_col(H, 'c_fisher')
HF = dpm_cols(DATA, 'fit_rff')
fP = dpm_col(HF, 'features'); fF = dpm_col(HF, 'fisher'); fFs = dpm_col(HF, 'fisher_se'); fD = dpm_col(HF, 'dsm')
fR1 = dpm_col(HF, 'rel1'); fR1D = dpm_col(HF, 'rel1_dsm'); fR2 = dpm_col(HF, 'rel2')

eval dpm_grid(1, 3, 3)
do for [dpm_pass = 1:2] {
  eval dpm_pass_begin
  # ---- objectives against delta ----------------------------------------------------------------------------------
  eval dpm_panel(1, 1)
  set xlabel dpm_L('model parameter {/:Italic δ} (means shifted)', 'model parameter $\delta$ (means shifted)')
  set ylabel dpm_L('objective  (1/length^2)', 'objective (1/length$^2$)')
  set title dpm_L('four objectives, one minimiser', 'four objectives, one minimiser')
  set xtics 0.5
  plot DATA index 'delta' using cD:cDS with lines ls 4 notitle, \
       DATA index 'delta' using cD:cF with lines ls 1 notitle, \
       DATA index 'delta' using cD:cSS:cSSs every 3 with yerrorbars pt 6 ps 0.5 lw 0.7 lc rgb dpm_green notitle, \
       DATA index 'delta' using cD:cS with lines ls 2 notitle
  eval dpm_panel_end
  # ---- the gaps, minus their constants -----------------------------------------------------------------------------
  eval dpm_panel(1, 2)
  set title dpm_L('gaps minus their constants, ± 2 se', 'gaps minus their constants, $\pm 2$ se')
  set ylabel dpm_L('gap − constant  (1/length^2)', 'gap $-$ constant (1/length$^2$)')
  set style fill transparent solid 0.25 noborder
  plot DATA index 'delta' using cD:(column(cG1) - column(cC1) - 2 * column(cG1s)):(column(cG1) - column(cC1) + 2 * column(cG1s)) \
         with filledcurves lc rgb dpm_purple notitle, \
       DATA index 'delta' using cD:(column(cG2) - column(cC2) - 2 * column(cG2s)):(column(cG2) - column(cC2) + 2 * column(cG2s)) \
         with filledcurves lc rgb dpm_sky notitle, \
       0 with lines lw 1.0 dt 1 lc rgb dpm_black notitle, \
       DATA index 'delta' using cD:(column(cG1) - column(cC1)) with lines lw 1.5 dt 1 lc rgb dpm_purple notitle, \
       DATA index 'delta' using cD:(column(cG2) - column(cC2)) with lines lw 1.5 dt (6, 3) lc rgb dpm_blue notitle
  set style fill solid 1.0 noborder
  eval dpm_panel_end
  # ---- exact least-squares fits against the number of features: relative errors of first and second order -------
  eval dpm_panel(1, 3)
  set logscale xy 10
  set xtics auto; set ytics auto
  set format x '%g'; set format y '10^{%T}'
  if (dpm_tex) { set format y '$10^{%T}$' }
  set xlabel dpm_L('number of features {/:Italic P}', 'number of features $P$')
  set ylabel dpm_L('relative error', 'relative error')
  set title dpm_L('exact least-squares DSM fits', 'exact least-squares DSM fits')
  pos(v) = v > 0 ? v : NaN
  plot DATA index 'fit_rff' using fP:fR1 with linespoints ls 1 notitle, \
       DATA index 'fit_rff' using fP:(pos(column(fR1D))) with points pt 6 ps 0.6 lc rgb dpm_blue notitle, \
       DATA index 'fit_rff' using fP:fR2 with linespoints lw 1.5 dt (2, 2) pt 9 ps 0.6 lc rgb dpm_blue notitle, \
       DATA index 'fit_bump' using fP:fR1 with linespoints ls 2 notitle, \
       DATA index 'fit_bump' using fP:(pos(column(fR1D))) with points pt 4 ps 0.6 lc rgb dpm_vermillion notitle, \
       DATA index 'fit_bump' using fP:fR2 with linespoints lw 1.5 dt (2, 2) pt 11 ps 0.6 lc rgb dpm_vermillion notitle
  eval dpm_panel_end
  # ---- the key band -----------------------------------------------------------------------------------------------
  eval dpm_key_begin(9)
  plot [0:1][0:1] \
    NaN with lines ls 1 title dpm_L('Fisher', 'Fisher'), \
    NaN with lines ls 2 title dpm_L('SM (Hyvärinen)', 'SM (Hyv\"arinen)'), \
    NaN with points pt 6 ps 0.5 lw 0.7 lc rgb dpm_green title dpm_L('sliced SM ± se', 'sliced SM $\pm$ se'), \
    NaN with lines ls 4 title dpm_L('DSM (Vincent)', 'DSM (Vincent)'), \
    NaN with lines lw 1.5 dt 1 lc rgb dpm_purple title dpm_L('DSM − SM − {/:Italic d}/{/:Italic s}^2', 'DSM $-$ SM $- d/s^2$'), \
    NaN with lines lw 1.5 dt (6, 3) lc rgb dpm_blue title dpm_L('Fisher − SM − {/:Italic d}Γ/{/:Italic s}^2', 'Fisher $-$ SM $- d\Gamma/s^2$'), \
    NaN with linespoints ls 1 title dpm_L('score fit, Fourier', 'score fit, Fourier'), \
    NaN with linespoints ls 2 title dpm_L('score fit, bumps', 'score fit, bumps'), \
    NaN with points pt 6 ps 0.6 lc rgb dpm_black title dpm_L('from DSM − {/:Italic d}(1 − Γ)/{/:Italic s}^2', 'from DSM $- d(1-\Gamma)/s^2$'), \
    NaN with linespoints lw 1.5 dt (2, 2) pt 9 ps 0.6 lc rgb dpm_black title dpm_L('Laplacian fit (2nd order)', 'Laplacian fit (2nd order)')
  unset multiplot
}
