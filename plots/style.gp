# style.gp — the one paper style every figure script loads: serif text, Okabe–Ito line styles, viridis heat maps,
# and the terminal chosen from the output name (pdf -> pdfcairo, png -> pngcairo at 2x, svg, tex -> cairolatex).
#
# A figure script is run as `gnuplot -c plots/<fig>.gp DATA OUT` and starts with
#
#   dpm_slash(s) = strstrt(s, '/') ? strstrt(s, '/') + dpm_slash(s[strstrt(s, '/') + 1:]) : 0
#   load ARG0[1:dpm_slash(ARG0)].'style.gp'
#   eval dpm_output(ARG2, 7.0, 2.6)          # width and height in inches (3.4 x 2.4 single column, 7 x 2.6 double)
#
# Sizes are physical: text is dpm_fontsize points (default 9; set it before the load to change it) and a line of
# width 1 is 0.5 pt in every terminal, so a PDF placed at 100% in a paper has the intended sizes. The PNG is the same
# picture at 192 dpi (twice a 96 dpi screen). For the cairolatex terminal (OUT ending in .tex) the text is typeset by
# LaTeX; scripts give TeX labels through dpm_L('plain text', '$\TeX$'), which picks by terminal.

set encoding utf8

if (!exists("dpm_fontsize")) dpm_fontsize = 9

# ---- font: the first installed of a few paper serif faces (fontconfig), else the generic "serif" ------------------
dpm_has_font(f) = system(sprintf("fc-list -q '%s' 2>/dev/null && echo 1 || echo 0", f)) eq "1"
if (!exists("dpm_font")) {
  dpm_font = "serif"
  do for [dpm_f in "'Latin Modern Roman' 'CMU Serif' 'Liberation Serif' 'DejaVu Serif'"] {
    if (dpm_font eq "serif" && dpm_has_font(dpm_f)) { dpm_font = dpm_f }
  }
}

# ---- terminal from the output name ---------------------------------------------------------------------------------
dpm_png_dpi = 192.0
dpm_ext(o) = strlen(o) > 4 ? o[strlen(o) - 3:] : ""
dpm_tex = 0
# Measured behaviour of gnuplot 5.4's cairo terminals: text is (size x fontscale x 4/3) px or pt, line width 1 is
# 0.5 pt (pdf) and 1 px (png), a point of size 1 is 1 px in png against 1 pt in pdf; the factors below undo that so
# the requested sizes come out the same in every terminal.
dpm_term_pdf(w, h) = sprintf("set terminal pdfcairo enhanced color font '%s,%g' fontscale 0.75 linewidth 1 rounded dashlength 2.5 size %gin,%gin", dpm_font, dpm_fontsize, w, h)
dpm_term_png(w, h) = sprintf("set terminal pngcairo enhanced color font '%s,%g' fontscale %g linewidth %g pointscale %g rounded dashlength 3.75 size %d,%d", dpm_font, dpm_fontsize, dpm_png_dpi / 96.0, dpm_png_dpi / 144.0, dpm_png_dpi / 72.0, int(w * dpm_png_dpi + 0.5), int(h * dpm_png_dpi + 0.5))
dpm_term_svg(w, h) = sprintf("set terminal svg enhanced font '%s,%g' linewidth %g rounded dashlength 2.5 size %d,%d", dpm_font, dpm_fontsize * 96.0 / 72.0, 96.0 / 144.0, int(w * 96 + 0.5), int(h * 96 + 0.5))
dpm_term_tex(w, h) = sprintf("set terminal cairolatex pdf input color colortext linewidth 1 rounded dashlength 2.5 size %gin,%gin", w, h)
dpm_term(o, w, h) = dpm_ext(o) eq ".pdf" ? dpm_term_pdf(w, h) : \
                    dpm_ext(o) eq ".png" ? dpm_term_png(w, h) : \
                    dpm_ext(o) eq ".svg" ? dpm_term_svg(w, h) : \
                    dpm_ext(o) eq ".tex" ? dpm_term_tex(w, h) : ""
# The command that selects the terminal and opens the output; an unknown extension stops the script with status 2.
dpm_output(o, w, h) = (dpm_tex = (dpm_ext(o) eq ".tex"), \
  dpm_term(o, w, h) eq "" ? sprintf("print 'style.gp: output \"%s\": extension must be .pdf, .png, .svg or .tex'; exit status 2", o) \
                          : sprintf("%s; set output '%s'", dpm_term(o, w, h), o))
# A label in plain (enhanced) text or in TeX, whichever the terminal typesets.
dpm_L(plain, tex) = dpm_tex ? tex : plain

# ---- Okabe–Ito colours (Okabe & Ito 2008), colour-blind safe; one line style per colour, distinct dashes too ------
dpm_blue = "#0072B2"; dpm_vermillion = "#D55E00"; dpm_green = "#009E73"; dpm_purple = "#CC79A7"
dpm_orange = "#E69F00"; dpm_sky = "#56B4E9"; dpm_yellow = "#F0E442"; dpm_black = "#000000"
dpm_grey = "#999999"; dpm_lightgrey = "#DDDDDD"
array dpm_colour[8] = [dpm_blue, dpm_vermillion, dpm_green, dpm_purple, dpm_orange, dpm_sky, dpm_yellow, dpm_black]
array dpm_dash[8] = ["1", "(6,3)", "(2,2)", "(8,3,2,3)", "(12,4)", "(4,2,1,2,1,2)", "(1,3)", "(10,2,2,2,2,2)"]
array dpm_point[8] = [7, 5, 9, 13, 11, 15, 6, 4]
do for [i = 1:8] {
  eval sprintf("set linetype %d lc rgb '%s' lw 1.5 dt %s pt %d ps 0.6", i, dpm_colour[i], dpm_dash[i], dpm_point[i])
  eval sprintf("set style line %d lc rgb '%s' lw 1.5 dt %s pt %d ps 0.6", i, dpm_colour[i], dpm_dash[i], dpm_point[i])
  # solid variants 11..18 for many-curve plots (sample paths) where dashes would be noise
  eval sprintf("set style line %d lc rgb '%s' lw 1.0 dt 1 pt %d ps 0.6", 10 + i, dpm_colour[i], dpm_point[i])
}
set linetype cycle 8

# ---- frame, grid, key ----------------------------------------------------------------------------------------------
set border 3 lw 0.8 lc rgb "#222222"
set tics nomirror out scale 0.6 textcolor rgb "#222222"
set mxtics
set mytics
set style line 100 lc rgb dpm_lightgrey lw 0.5 dt 1
set style line 101 lc rgb "#EEEEEE" lw 0.4 dt 1
set grid back ls 100, ls 101
set key nobox noopaque samplen 2.5 spacing 1.1 width 0 height 0.3 textcolor rgb "#222222"
set key reverse Left
set xlabel offset 0, 0.3
set ylabel offset 0.8, 0
set title offset 0, -0.4
set style arrow 1 head filled size screen 0.008, 20, 45 lw 1 lc rgb "#333333"
set style fill solid 1.0 noborder
set samples 400
set isosamples 100

# ---- heat maps: viridis (van der Walt & Smith 2015), perceptually uniform and colour-blind safe ------------------
set palette defined (0 "#440154", 0.1 "#482475", 0.2 "#414487", 0.3 "#355F8D", 0.4 "#2A788E", 0.5 "#21918C", \
                     0.6 "#22A884", 0.7 "#44BF70", 0.8 "#7AD151", 0.9 "#BDDF26", 1 "#FDE725")
set palette maxcolors 0
set colorbox user noborder
set cbtics out scale 0.5 nomirror
