# sampler_score_sde.gp — the picture of score-based generative modelling (Song et al., ICLR 2021, Figure 1): log q_t(x)
# of a 1-D mixture under the VP SDE as a heat map over (t, x), with reverse-SDE paths (left) and probability-flow
# ODE paths (right) from the same starts at t = 1, each walked by a sampler of the table (docs/MATH.md §1, §4).
# Usage: gnuplot -c plots/sampler_score_sde.gp build/data/sampler_score_sde.dat OUT.{pdf,png,svg,tex}
dpm_slash(s) = strstrt(s, '/') ? strstrt(s, '/') + dpm_slash(s[strstrt(s, '/') + 1:]) : 0
load ARG0[1:dpm_slash(ARG0)].'style.gp'
DATA = ARG1
eval dpm_output(ARG2, 7.0, 2.7)

npath = 8
logq_floor = -7.0
names = dpm_cols(DATA, 'samplers')
array blk[2] = ['paths_sde', 'paths_ode']
array ttl[2]
ttl[1] = sprintf('reverse SDE: %s', word(names, 1))
ttl[2] = sprintf('probability-flow ODE: %s', word(names, 2))
stats DATA index 'logq' nonuniform matrix using 2 nooutput
xlo = STATS_min; xhi = STATS_max

eval dpm_grid(1, 2, 0)
do for [dpm_pass = 1:2] {
  eval dpm_pass_begin
  set border 15 lw 1
  set xtics mirror out scale 0.5 0, 0.25, 1 format '%g'
  set ytics mirror out scale 0.5
  unset mxtics; unset mytics; unset grid; unset key
  set xrange [0:1]
  set yrange [xlo:xhi]
  set cbrange [logq_floor:0]
  set cbtics 1 out scale 0.4 nomirror
  set xlabel dpm_L('time {/:Italic t}  (sampling runs from {/:Italic t} = 1 to 0)', 'time $t$ (sampling runs from $t = 1$ to $0$)')
  set ylabel dpm_L('{/:Italic x}', '$x$')
  set cblabel dpm_L('log {/:Italic q_t}({/:Italic x})', '$\log q_t(x)$')
  do for [i = 1:2] {
    eval dpm_panel(1, i)
    set title ttl[i]
    if (i == 2) { set colorbox default vertical noborder } else { unset colorbox }
    plot DATA index 'logq' nonuniform matrix using 1:2:($3 < logq_floor ? logq_floor : $3) with image notitle, \
         for [k = 1:npath] DATA index blk[i] using 1:(column(1 + k)) with lines lw 1.8 dt 1 lc rgb '#202020' notitle, \
         for [k = 1:npath] DATA index blk[i] using 1:(column(1 + k)) with lines lw 0.9 dt 1 lc rgb 'white' notitle
    eval dpm_panel_end
  }
  unset multiplot
}
