# scorematch_regimes.gp — the dynamical regimes of the ideal denoiser (Biroli, Bonnaire, de Bortoli & Mézard 2024;
# docs/MATH.md §4.4): the collapse time against the number of training points n for several dimensions d, with the
# excess-entropy prediction; the speciation time against n, flat, with the prediction log(Λ)/2 of each d.
# Usage: gnuplot -c plots/scorematch_regimes.gp build/data/scorematch_regimes.dat OUT.{pdf,png,svg,tex}
dpm_slash(s) = strstrt(s, '/') ? strstrt(s, '/') + dpm_slash(s[strstrt(s, '/') + 1:]) : 0
load ARG0[1:dpm_slash(ARG0)].'style.gp'
DATA = ARG1
eval dpm_output(ARG2, 7.0, 2.8)

H1 = dpm_cols(DATA, 'd1')
cN = dpm_col(H1, 'n'); cS = dpm_col(H1, 't_s'); cSe = dpm_col(H1, 't_s_se'); cSp = dpm_col(H1, 't_s_pred')
cC = dpm_col(H1, 't_c'); cCe = dpm_col(H1, 't_c_se'); cCp = dpm_col(H1, 't_c_pred')
ND = int(system(sprintf("grep -c '^# d[0-9]:' '%s'", DATA)))
array DN[3] = ['{/:Italic d} = 8', '{/:Italic d} = 16', '{/:Italic d} = 64']
array DT[3] = ['$d = 8$', '$d = 16$', '$d = 64$']

eval dpm_grid(1, 2, 2)
do for [dpm_pass = 1:2] {
  eval dpm_pass_begin
  # ---- collapse against n ------------------------------------------------------------------------------------------
  eval dpm_panel(1, 1)
  set logscale x 10
  set xlabel dpm_L('training points {/:Italic n}', 'training points $n$')
  set ylabel dpm_L('time {/:Italic t} (OU, unit variance)', 'time $t$ (OU, unit variance)')
  set title dpm_L('collapse {/:Italic t_C}: falls with {/:Italic n}', 'collapse $t_C$: falls with $n$')
  plot for [k = 1:ND] DATA index sprintf('d%d', k) using cN:cCp with lines lc rgb dpm_colour[k] lw 1.2 dt (5,3) notitle, \
       for [k = 1:ND] DATA index sprintf('d%d', k) using cN:cC:cCe with yerrorbars ls (10 + k) pt 7 ps 0.45 notitle
  eval dpm_panel_end
  # ---- speciation against n ----------------------------------------------------------------------------------------
  eval dpm_panel(1, 2)
  unset ylabel
  set title dpm_L('speciation {/:Italic t_S}: flat in {/:Italic n}', 'speciation $t_S$: flat in $n$')
  plot for [k = 1:ND] DATA index sprintf('d%d', k) using cN:cSp with lines lc rgb dpm_colour[k] lw 1.2 dt (5,3) notitle, \
       for [k = 1:ND] DATA index sprintf('d%d', k) using cN:cS:cSe with yerrorbars ls (10 + k) pt 5 ps 0.45 notitle
  eval dpm_panel_end
  # ---- key -----------------------------------------------------------------------------------------------------------
  eval dpm_key_begin(ND + 2)
  plot [0:1][0:1] \
    for [k = 1:ND] NaN with lines lc rgb dpm_colour[k] lw 3 dt 1 title dpm_L(DN[k], DT[k]), \
    NaN with linespoints lc rgb dpm_grey lw 1.0 dt 1 pt 7 ps 0.45 title dpm_L('measured (mean ± SE)', 'measured (mean $\pm$ SE)'), \
    NaN with lines lw 1.2 dt (5,3) lc rgb dpm_grey title dpm_L('prediction: excess entropy / ½ log Λ', 'prediction: excess entropy / $\frac12\log\Lambda$')
  unset multiplot
}
