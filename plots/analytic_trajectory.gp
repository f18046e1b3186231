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
# every traj_* block has the columns of this one
cols = dpm_cols(DATA, 'traj_gmm1d_K10')
c_u = dpm_col(cols, '(k-1)/(K-1)')

eval dpm_grid(1, 2, 2)
do for [dpm_pass = 1:2] {
  eval dpm_pass_begin
  set xrange [0:1]
  set xtics 0, 0.2, 1
  set mxtics 2
  set yrange [0:1000]
  set ytics 0, 200, 1000
  set mytics 2
  set xlabel dpm_L('normalised index ({/:Italic k} − 1)/({/:Italic K} − 1)', 'normalised index $(k-1)/(K-1)$')
  set ylabel dpm_L('time step {/:Italic τ_k}', 'time step $\tau_k$')
  do for [i = 1:2] {
    eval dpm_panel(1, i)
    set title dpm_L(sprintf('%s ({/:Italic d} = %d), linear schedule, {/:Italic N} = 1000', sets[i], dims[i]), \
                    sprintf('\texttt{%s} ($d = %d$), linear schedule, $N = 1000$', sets[i], dims[i]))
    ref = sprintf('traj_%s_K100', sets[i])
    plot DATA index ref using c_u:dpm_col(cols, 'tau_even') with lines lw 0.8 dt 1 lc rgb dpm_black notitle, \
         DATA index ref using c_u:dpm_col(cols, 'tau_quadratic') with lines lw 1.0 dt (4, 3) lc rgb dpm_grey notitle, \
         for [j = 1:4] DATA index sprintf('traj_%s_K%d', sets[i], Ks[j]) using c_u:dpm_col(cols, 'tau_dp') \
           with linespoints ls 10 + kstyle[j] lw 1.3 pt dpm_point[kstyle[j]] ps (j <= 2 ? 0.55 : 0.3) notitle
    eval dpm_panel_end
  }

  # ---- one key for both panels, in the band across the top ---------------------------------------------------
  eval dpm_key_begin(6)
  set key samplen 2.5 width 0.5
  plot [0:1][0:1] \
    for [j = 1:4] NaN with linespoints ls 10 + kstyle[j] lw 1.3 pt dpm_point[kstyle[j]] ps 0.55 \
        title dpm_L(sprintf('optimal, {/:Italic K} = %d', Ks[j]), sprintf('optimal, $K = %d$', Ks[j])), \
    NaN with lines lw 0.8 dt 1 lc rgb dpm_black title 'even', \
    NaN with lines lw 1.0 dt (4, 3) lc rgb dpm_grey title 'quadratic'
  unset multiplot
}
