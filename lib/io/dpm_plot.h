/* dpm_plot.h — figures through gnuplot: one script per figure in plots/, run as
 * `gnuplot -c plots/<fig>.gp DATA OUT`, whose exit status is checked (the terminal follows OUT's extension). */
#ifndef DPM_PLOT_H
#define DPM_PLOT_H

/* Render plots/<script>.gp on data (a file or a directory of files, as the script expects) to out_stem.pdf and
 * out_stem.png, plus out_stem-latex.tex with its text-free graphics out_stem-latex.pdf (cairolatex; a stem of
 * its own so out_stem.pdf stays the complete figure) when the environment variable DPM_CAIROLATEX is set to 1.
 * The scripts folder is $DPM_PLOTS_DIR or "plots"; the program run is $DPM_GNUPLOT or "gnuplot" (found on PATH,
 * no shell). Gnuplot's stderr passes through. Each output is written to a temporary file and renamed into
 * place only when gnuplot exits 0 and wrote something. Returns a status; the reason names the script and
 * gnuplot's exit status. */
int dpm_plot_figure(const char *script, const char *data, const char *out_stem);

/* Render one output file (extension .pdf, .png, .svg or .tex picks the terminal). Errors: a missing script or
 * data path, an unknown extension (GSL_EINVAL), gnuplot not found, killed, exiting non-zero or writing nothing
 * (GSL_EFAILED). */
int dpm_plot_run(const char *script, const char *data, const char *out);

#endif
