# marginals.gp — log q_t(x) of the VP, sub-VP and VE SDEs for a 1-D mixture as heat maps over (t, x), with forward
# paths simulated exactly overlaid (Song et al. 2021; docs/MATH.md §1-2).
# Usage: gnuplot -c plots/marginals.gp build/data/marginals.dat OUT.{pdf,png,svg,tex}
dpm_slash(s) = strstrt(s, '/') ? strstrt(s, '/') + dpm_slash(s[strstrt(s, '/') + 1:]) : 0
load ARG0[1:dpm_slash(ARG0)].'style.gp'
DATA = ARG1
eval dpm_output(ARG2, 7.0, 2.45)

array name[3] = ['vp', 'subvp', 've']
array title[3] = ['VP', 'sub-VP', 'VE']
npath = 6
logq_floor = -7.0

set border 15 lw 1
set xtics mirror out scale 0.5 0, 0.25, 1 format '%g'
set ytics mirror out scale 0.5
unset x2tics; unset y2tics; unset mxtics; unset mytics
unset grid
unset key
set xrange [0:1]
set cbrange [logq_floor:0]
set cbtics 1 out scale 0.4 nomirror
set xlabel dpm_L('{/:Italic t}', '$t$') offset 0, 0.5
set cblabel dpm_L('log {/:Italic q_t}({/:Italic x})', '$\log q_t(x)$') offset 0.2, 0
unset colorbox

left = 0.065; right = 0.88; top = 0.90; bottom = 0.17; gap = 0.055
w = (right - left - 2 * gap) / 3.0
# the x window of each panel is the extent of its heat map (stats cannot run inside multiplot)
array ylo[3]; array yhi[3]
do for [i = 1:3] {
  stats DATA index sprintf('logq_%s', name[i]) nonuniform matrix using 2 nooutput
  ylo[i] = STATS_min; yhi[i] = STATS_max
}

set multiplot
do for [i = 1:3] {
  set yrange [ylo[i]:yhi[i]]
  set lmargin at screen left + (i - 1) * (w + gap)
  set rmargin at screen left + (i - 1) * (w + gap) + w
  set tmargin at screen top
  set bmargin at screen bottom
  set title title[i] offset 0, -0.7
  set ylabel (i == 1 ? dpm_L('{/:Italic x}', '$x$') : '') offset 1.2, 0
  if (i == 3) {
    set colorbox user origin screen right + 0.015, screen bottom size screen 0.012, screen top - bottom noborder
  }
  plot DATA index sprintf('logq_%s', name[i]) nonuniform matrix using 1:2:($3 < logq_floor ? logq_floor : $3) \
         with image notitle, \
       for [k = 1:npath] DATA index sprintf('paths_%s', name[i]) using 1:(column(3 + k)) with lines \
         lw 1.6 dt 1 lc rgb '#202020' notitle, \
       for [k = 1:npath] DATA index sprintf('paths_%s', name[i]) using 1:(column(3 + k)) with lines \
         lw 0.8 dt 1 lc rgb 'white' notitle
}
unset multiplot
