# analytic_clipping.gp — why Analytic-DPM (Bao et al. ICLR 2022) clips its variance estimate: (a) Gamma-hat_n of
# imperfect denoisers against the true Gamma_n (above 1 the unclipped estimate is below its lower bound); (b), (c) the
# unclipped (solid) and clipped (dashed) estimate relative to sigma*^2 with the band of the bounds, on the full chain
# and on a 10-step trajectory; values <= ylo (negative variances included) as triangles on the lower edge.
# Usage: gnuplot -c plots/analytic_clipping.gp build/data/analytic_clipping.dat OUT.{pdf,png,svg,tex}
dpm_slash(s) = strstrt(s, '/') ? strstrt(s, '/') + dpm_slash(s[strstrt(s, '/') + 1:]) : 0
load ARG0[1:dpm_slash(ARG0)].'style.gp'
DATA = ARG1
eval dpm_output(ARG2, 7.0, 2.9)

array mstyle[4] = [8, 1, 2, 3]   # exact (MC noise): black, relative error 0.2: blue, 0.5: vermillion, memorising: green
array mtitle[4] = ['exact, MC noise only', 'relative error 0.2', 'relative error 0.5', 'memorising, 100 points']
band_colour = '#CFE3F1'
out_colour = '#FBE3D6'
ylo = 0.05; yhi = 20.0
low(v) = v <= ylo ? ylo : NaN      # pinned to the lower edge
ok(v) = v > ylo ? v : NaN
G_hat = dpm_hat('{/:Italic Γ}')
s_hat = dpm_accent('{/:Italic σ}', 'ˆ', 0.4)
# Block 'gamma': n, Gamma_n, its error, then per model (in the order of mtitle) Gamma-hat_n, se, x0mse_n; blocks
# 'ratio_chain' and 'ratio_traj': t, s, lower and upper bound over sigma*^2, then per model the unclipped and clipped
# estimate over sigma*^2. Columns by position: these blocks name their per-model columns in prose.
ghat(m) = 4 + 3 * (m - 1)
unclipped(m) = 5 + 2 * (m - 1)
clipped(m) = 6 + 2 * (m - 1)

eval dpm_grid(1, 3, 3)
do for [dpm_pass = 1:2] {
  eval dpm_pass_begin
  # dashed variants (clipped) of the model styles
  do for [m = 1:4] {
    eval sprintf("set style line %d lc rgb '%s' lw 1.0 dt (3, 2)", 20 + mstyle[m], dpm_colour[mstyle[m]])
    eval sprintf("set style line %d lc rgb '%s' lw 1.5 dt 1 pt 7 ps 0.45", 30 + mstyle[m], dpm_colour[mstyle[m]])
  }

  # ---- (a) Gamma-hat ----------------------------------------------------------------------------------------
  eval dpm_panel(1, 1)
  set logscale xy
  set xrange [1:1000]
  set format x dpm_L('10^{%T}', '$10^{%T}$')
  set format y dpm_L('10^{%T}', '$10^{%T}$')
  set mxtics 10
  set yrange [1e-4:1e2]
  set ytics 1e-4, 100, 1e2
  set mytics 10
  set title dpm_L('(a) estimates '.G_hat.'_{/:Italic n}', '(a) estimates $\hat\Gamma_n$')
  set xlabel dpm_L('step {/:Italic n}', 'step $n$')
  set ylabel dpm_L(G_hat.'_{/:Italic n},  {/:Italic Γ}_{/:Italic n}', '$\hat\Gamma_n$, $\Gamma_n$')
  set object 1 rect from graph 0, first 1 to graph 1, graph 1 fc rgb out_colour fs solid 1.0 noborder behind
  set label 1 dpm_L(G_hat.' > 1: below the bound', '$\hat\Gamma > 1$: below the bound') at graph 0.04, graph 0.93 \
      font ',8' textcolor rgb '#A04000'
  plot for [m = 1:4] DATA index 'gamma' using 1:(column(ghat(m))) with lines ls 10 + mstyle[m] lw 1.1 notitle, \
       DATA index 'gamma' using 1:2 with lines lw 2.2 dt (2, 2) lc rgb dpm_grey notitle
  eval dpm_panel_end
  unset object 1
  unset label 1

  # ---- (b), (c) the variance estimate relative to the optimum ----------------------------------------------
  set yrange [ylo * 0.8:yhi]
  set ytics ('0.05' 0.05, '0.1' 0.1, '0.2' 0.2, '0.5' 0.5, '1' 1, '2' 2, '5' 5, '10' 10, '20' 20)
  set ylabel dpm_L(s_hat.'^2 / {/:Italic σ}^{*2}', '$\hat\sigma^2/\sigma^{*2}$')
  do for [p = 2:3] {
    eval dpm_panel(1, p)
    blk = p == 2 ? 'ratio_chain' : 'ratio_traj'
    if (p == 2) {
      set title dpm_L('(b) full chain, {/:Italic N} = 1000', '(b) full chain, $N = 1000$')
      set xrange [2:1000]
      set xlabel dpm_L('step {/:Italic n}  (step {/:Italic n} → {/:Italic n} − 1)', 'step $n$ (step $n \to n-1$)')
    } else {
      set title dpm_L('(c) even trajectory, {/:Italic K} = 10', '(c) even trajectory, $K = 10$')
      unset logscale x
      set xrange [0:1050]
      set xtics 0, 200, 1000
      set format x '%g'
      set mxtics 2
      set xlabel dpm_L('{/:Italic t} = {/:Italic τ_k}  (step {/:Italic τ_k} → {/:Italic τ}_{{/:Italic k}−1})', \
                       '$t = \tau_k$ (step $\tau_k \to \tau_{k-1}$)')
    }
    plot DATA index blk using 1:3:4 with filledcurves lc rgb band_colour notitle, \
         for [m = 1:4] DATA index blk using 1:(ok(column(unclipped(m)))) with linespoints ls 30 + mstyle[m] \
           ps (p == 2 ? 0 : 0.45) notitle, \
         for [m = 1:4] DATA index blk using 1:(low(column(unclipped(m)))) with points pt 11 ps 0.7 \
           lc rgb dpm_colour[mstyle[m]] notitle, \
         for [m = 1:4] DATA index blk using 1:(column(clipped(m))) with lines ls 20 + mstyle[m] notitle, \
         1 with lines lw 0.8 dt 1 lc rgb dpm_black notitle
    eval dpm_panel_end
  }

  # ---- one key for all panels, in the band across the top ----------------------------------------------------
  eval dpm_key_begin(8)
  set key samplen 2.5 width 0.5
  plot [0:1][0:1] \
    for [m = 1:4] NaN with lines ls 10 + mstyle[m] lw 1.5 title mtitle[m], \
    NaN with lines lw 2.2 dt (2, 2) lc rgb dpm_grey title dpm_L('true {/:Italic Γ}_{/:Italic n}', 'true $\Gamma_n$'), \
    NaN with filledcurves lc rgb band_colour title dpm_L('bounds / {/:Italic σ}^{*2}', 'bounds$/\sigma^{*2}$'), \
    NaN with lines lw 1.0 dt (3, 2) lc rgb dpm_grey title 'clipped (dashed)', \
    NaN with points pt 11 ps 0.7 lc rgb dpm_grey title dpm_L('≤ 0.05 or < 0', '$\le 0.05$ or $< 0$')
  unset multiplot
}
