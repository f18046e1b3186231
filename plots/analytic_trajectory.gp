# analytic_trajectory.gp — Analytic-DPM (Bao et al. ICLR 2022, §4): the optimal trajectories tau_k found by dynamic
# programming on J(s,t) = log(sigma*^2_{s|t}/lambda^2_{s|t}) for several K, against the normalised index (k-1)/(K-1),
# with the even and quadratic trajectories for reference; one panel per data set.
# Usage: gnuplot -c plots/analytic_trajectory.gp build/data/analytic_trajectory.dat OUT.{pdf,png,svg,tex}
dpm_slash(s) = strstrt(s, '/') ? strstrt(s, '/') + dpm_slash(s[strstrt(s, '/') + 1:]) : 0
load ARG0[1:dpm_slash(ARG0)].'style.gp'
DATA = ARG1
eval dpm_output(ARG2, 7.0, 2.9)

array sets[2] = ['gmm1d', 'ring8']
array dims[2] = [1, 2]
array Ks[4] = [10, 25, 50, 100]
array kstyle[4] = [1, 2, 3, 4]

set xrange [0:1]
set xtics 0, 0.2, 1
set mxtics 2
set yrange [0:1000]
set ytics 0, 200, 1000
set mytics 2
set xlabel dpm_L('normalised index ({/:Italic k} − 1)/({/:Italic K} − 1)', 'normalised index $(k-1)/(K-1)$')

left = 0.085; right = 0.99; top = 0.80; bottom = 0.16; gap = 0.085
w = (right - left - gap) / 2.0
set tmargin at screen top
set bmargin at screen bottom
set multiplot
do for [i = 1:2] {
  set lmargin at screen left + (i - 1) * (w + gap)
  set rmargin at screen left + (i - 1) * (w + gap) + w
  set title dpm_L(sprintf('%s ({/:Italic d} = %d), linear schedule, {/:Italic N} = 1000', sets[i], dims[i]), \
                  sprintf('\texttt{%s} ($d = %d$), linear schedule, $N = 1000$', sets[i], dims[i]))
  set ylabel dpm_L('time step {/:Italic τ_k}', 'time step $\tau_k$')
  ref = sprintf('traj_%s_K100', sets[i])
  plot DATA index ref using 2:4 with lines lw 0.8 dt 1 lc rgb dpm_black notitle, \
       DATA index ref using 2:5 with lines lw 1.0 dt (4, 3) lc rgb dpm_grey notitle, \
       for [j = 1:4] DATA index sprintf('traj_%s_K%d', sets[i], Ks[j]) using 2:3 with linespoints \
           ls 10 + kstyle[j] lw 1.3 pt dpm_point[kstyle[j]] ps (j <= 2 ? 0.55 : 0.3) notitle
}

# ---- one key for both panels, across the top ---------------------------------------------------------------------
set lmargin at screen 0.0; set rmargin at screen 1.0; set tmargin at screen 1.0; set bmargin at screen 0.0
unset title; unset xlabel; unset ylabel; unset border; unset tics; unset grid
set key at screen 0.5, screen 0.995 center top horizontal maxrows 1 samplen 2.5 width 0.5
plot [0:1][0:1] \
  for [j = 1:4] NaN with linespoints ls 10 + kstyle[j] lw 1.3 pt dpm_point[kstyle[j]] ps 0.55 \
      title dpm_L(sprintf('optimal, {/:Italic K} = %d', Ks[j]), sprintf('optimal, $K = %d$', Ks[j])), \
  NaN with lines lw 0.8 dt 1 lc rgb dpm_black title 'even', \
  NaN with lines lw 1.0 dt (4, 3) lc rgb dpm_grey title 'quadratic'
unset multiplot
