# sampler_guidance.gp — the edm2 toy panel (Karras et al. 2024, Figure 2) with exact scores. Top row: contours of
# log q_sigma(x) of a labelled 2-D mixture at three sigma with arrows of the denoiser displacement sigma^2 score
# (capped), and exact draws of q_0 coloured by class. Bottom row: samples of EDM's Heun sampler over the
# class-conditional's log-density contours, with trajectories from the same starts, without guidance and with
# classifier guidance, CFG and autoguidance (grey dashed: the same starts without guidance) (docs/MATH.md §4).
# Usage: gnuplot -c plots/sampler_guidance.gp build/data/sampler_guidance.dat OUT.{pdf,png,svg,tex}
dpm_slash(s) = strstrt(s, '/') ? strstrt(s, '/') + dpm_slash(s[strstrt(s, '/') + 1:]) : 0
load ARG0[1:dpm_slash(ARG0)].'style.gp'
DATA = ARG1
eval dpm_output(ARG2, 7.0, 4.3)

box = 3.5
lq_lo = -9; lq_hi = -1
pn = dpm_cols(DATA, 'panels')
array ttl[8]
do for [i = 1:3] { ttl[i] = sprintf(dpm_L('{/:Italic σ} = %s', '$\sigma = %s$'), word(pn, 3 + i)) }
ttl[4] = dpm_L('exact draws of {/:Italic q}_0', 'exact draws of $q_0$')
ttl[5] = 'no guidance'
ttl[6] = sprintf(dpm_L('classifier, {/:Italic w} = %s', 'classifier, $w = %s$'), word(pn, 1))
ttl[7] = sprintf(dpm_L('CFG, {/:Italic w} = %s', 'CFG, $w = %s$'), word(pn, 2))
ttl[8] = sprintf(dpm_L('autoguidance, {/:Italic w} = %s', 'autoguidance, $w = %s$'), word(pn, 3))

# contour lines of each log-density grid, as tables (kept across the passes' resets)
set contour base; unset surface; set view map
set cntrparam levels incremental lq_lo, 1, lq_hi
do for [i = 1:3] {
  eval sprintf("set table $C%d", i)
  splot DATA index sprintf('logq_%d', i) nonuniform matrix using 1:2:3 with lines notitle
  unset table
}
set cntrparam levels incremental -13, 2, -1
set table $Ccond
splot DATA index 'logq_cond' nonuniform matrix using 1:2:3 with lines notitle
unset table

eval dpm_grid(2, 4, 2)
do for [dpm_pass = 1:2] {
  eval dpm_pass_begin
  set border 15 lw 0.8
  set xtics mirror out scale 0.4 format '%g'; set xtics -3, 1.5, 3
  set ytics mirror out scale 0.4 format '%g'; set ytics -3, 1.5, 3
  unset mxtics; unset mytics; unset grid; unset key
  set xrange [-box:box]; set yrange [-box:box]
  set cbrange [lq_lo:lq_hi]
  set cbtics 2 out scale 0.4 nomirror
  set cblabel dpm_L('log {/:Italic q_σ}({/:Italic x})', '$\log q_\sigma(x)$') offset 1.0, 0
  do for [i = 1:8] {
    pr = (i - 1) / 4 + 1; pc = (i - 1) % 4 + 1
    eval dpm_panel(pr, pc)
    set title ttl[i]
    if (pr == 2) { set xlabel dpm_L('{/:Italic x}_1', '$x_1$') } else { unset xlabel }
    if (pc == 1) { set ylabel dpm_L('{/:Italic x}_2', '$x_2$') } else { unset ylabel }
    if (i == 3) { set colorbox default vertical noborder } else { unset colorbox }
    if (i <= 3) {
      plot sprintf('$C%d', i) using 1:2:3 with lines lw 1.0 dt 1 lc palette notitle, \
           DATA index sprintf('arrows_%d', i) using 1:2:3:4 with vectors head filled size 0.08, 25, 50 lw 0.8 lc rgb '#404040' notitle
    }
    if (i == 4) {
      plot DATA index 'truth' using 1:($3 == 0 ? $2 : NaN) with points pt 7 ps 0.12 lc rgb dpm_blue notitle, \
           DATA index 'truth' using 1:($3 == 1 ? $2 : NaN) with points pt 7 ps 0.12 lc rgb dpm_vermillion notitle
    }
    if (i >= 5) {
      p = i - 4
      plot $Ccond using 1:2 with lines lw 0.6 dt 1 lc rgb dpm_grey notitle, \
           DATA index sprintf('samples_%d', p) using 1:2 with points pt 7 ps 0.12 lc rgb dpm_blue notitle, \
           DATA index sprintf('unguided_%d', p) using 1:2 with lines lw 0.8 dt (3,2) lc rgb dpm_grey notitle, \
           DATA index sprintf('paths_%d', p) using 1:2 with lines lw 0.9 dt 1 lc rgb dpm_black notitle
    }
    eval dpm_panel_end
  }
  eval dpm_key_begin(6)
  plot [0:1][0:1] NaN with points pt 7 ps 0.6 lc rgb dpm_blue title dpm_L('class {/:Italic y} = 0 (samples: blue)', 'class $y = 0$ (samples: blue)'), \
       NaN with points pt 7 ps 0.6 lc rgb dpm_vermillion title dpm_L('class 1', 'class 1'), \
       NaN with lines lw 1.0 dt 1 lc palette cb -4 title dpm_L('log {/:Italic q_σ} contours, arrows {/:Italic σ}^2∇log {/:Italic q_σ}', '$\log q_\sigma$ contours, arrows $\sigma^2\nabla\log q_\sigma$'), \
       NaN with lines lw 0.6 dt 1 lc rgb dpm_grey title dpm_L('log {/:Italic q}_0({/:Italic x}|{/:Italic y}) contours', '$\log q_0(x|y)$ contours'), \
       NaN with lines lw 0.9 dt 1 lc rgb dpm_black title 'paths with guidance', \
       NaN with lines lw 0.8 dt (3,2) lc rgb dpm_grey title 'paths without'
  unset multiplot
}
