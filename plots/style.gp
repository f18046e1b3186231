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

if (!exists("dpm_fontsize")) { dpm_fontsize = 9 }

# ---- font: one named face, installed by the Makefile (Debian fonts-freefont-ttf), so every machine draws the same
# glyphs with the same widths; FreeSerif covers Latin, Greek (upright and italic) and the mathematical operators used
# in the labels (− ≤ ± → ∗ ²). A missing face is reported: fontconfig would substitute another with other metrics.
if (!exists("dpm_font")) { dpm_font = "FreeSerif" }
if (!exists("dpm_font_checked")) {
  dpm_font_checked = 1
  if (system(sprintf("fc-list -q '%s' 2>/dev/null && echo 1 || echo 0", dpm_font)) ne "1") {
    print sprintf("style.gp: font '%s' is not installed (Debian package fonts-freefont-ttf: make deps); text will be drawn in a substitute", dpm_font)
  }
}

# ---- terminal from the output name ---------------------------------------------------------------------------------
dpm_png_dpi = 192.0
dpm_ext(o) = strlen(o) > 4 ? o[strlen(o) - 3:] : ""
if (!exists("dpm_tex")) { dpm_tex = 0 }
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
dpm_output(o, w, h) = (dpm_tex = (dpm_ext(o) eq ".tex"), dpm_out = o, dpm_height = h, \
  dpm_term(o, w, h) eq "" ? sprintf("print 'style.gp: output \"%s\": extension must be .pdf, .png, .svg or .tex'; exit status 2", o) \
                          : sprintf("%s; set output '%s'", dpm_term(o, w, h), o))
# A label in plain (enhanced) text or in TeX, whichever the terminal typesets.
dpm_L(plain, tex) = dpm_tex ? tex : plain
# Accents in enhanced text without combining characters (which fonts and cairo drop or misplace): the spacing
# modifier letter is overprinted on the base, raised by r times the font size, and followed by half its width of
# space so what follows (a subscript) starts where the base ends. Tall bases (β, Γ) take dpm_tilde / dpm_hat, bases
# of x-height (σ) dpm_accent with r = 0.4. The PDF's text reads as the base with its accent (β̃, Γ̂).
dpm_accent(base, acc, r) = sprintf('~{%s}{%g%s}{/*0.5 &{%s}}', base, r, acc, acc)
dpm_tilde(base) = dpm_accent(base, '˜', 0.55)
dpm_hat(base) = dpm_accent(base, 'ˆ', 0.55)

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
set ylabel offset 0.3, 0
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

# ---- data columns by name ------------------------------------------------------------------------------------------
# The demos open every data block with a comment "# block: name1 name2 ..." naming its columns. dpm_cols(file, block)
# reads those names; dpm_col(names, name) is the number of the named column, or -1 (gnuplot then stops with
# "Column must be >= -2" rather than plot a wrong column) when the block has no such column.
dpm_cols(file, block) = system(sprintf("sed -n 's/^# %s: //p' '%s' | head -n 1", block, file))
dpm_find(h, n, i) = i > words(h) ? -1 : (word(h, i) eq n ? i : dpm_find(h, n, i + 1))
dpm_col(h, n) = dpm_find(h, n, 1)

# ---- layout: panels in a grid under a band for the key, margins measured on the text ------------------------------
# Gnuplot knows the extent of its text only when it draws, so a figure is drawn twice into OUT. Pass 1 gives each
# panel an equal cell with automatic margins and records, from where gnuplot put the plot area (GPVAL_TERM_XMIN..),
# the room the text of each column (left, right) and each row (top, bottom) needs. Pass 2 sets every margin to
# those amounts: plot areas of equal size, aligned, each panel's text inside its own cell, and the key in a band
# across the top as tall as its rows. No length assumes a font; tests/figcheck.py verifies the result.
#
#   eval dpm_grid(rows, cols, keyrows)       # keyrows = 0: no key band
#   do for [dpm_pass = 1:2] {
#     eval dpm_pass_begin                    # reset to this style, reopen OUT, start the multiplot
#     ... settings of this figure (styles, ranges, formats) ...
#     do for [...] { eval dpm_panel(row, col); set title ...; plot ...; eval dpm_panel_end }
#     eval dpm_key_begin(entries)            # the band: no frame, the key centred at its top, keyrows rows
#     plot [0:1][0:1] NaN with lines title '...', ...
#     unset multiplot
#   }
# Everything a figure sets goes inside the loop: pass 2 starts from `reset` and this style again.
dpm_style_file = exists("dpm_style_file") ? dpm_style_file : \
  (exists("ARG0") && strlen(ARG0) > 0 && exists("dpm_slash") ? ARG0[1:dpm_slash(ARG0)].'style.gp' : 'plots/style.gp')
dpm_keyspacing = 1.5          # line spacing of the key band (at 1.1, raised text of its second row is misdrawn)
dpm_pad = 0.3                 # blank, in line heights, at the top of the page and between the key and the panels
dpm_grid(r, c, k) = sprintf("dpm_nr = %d; dpm_nc = %d; dpm_keyrows = %d; array dpm_ml[%d]; array dpm_mr[%d]; array dpm_mt[%d]; array dpm_mb[%d]; dpm_vchar = dpm_fontsize / (72.0 * dpm_height)", r, c, k, c, c, r, r)
# height of the key band as a fraction of the page (the key: rows x spacing, plus its `height 0.3`, plus padding)
dpm_band(z) = dpm_keyrows > 0 ? (dpm_keyrows * dpm_keyspacing + 0.3 + 2 * dpm_pad) * dpm_vchar : 0
dpm_pass_begin = "reset; load dpm_style_file; set output dpm_out; " . \
  "if (dpm_pass == 1) { do for [dpm_i = 1:dpm_nc] { dpm_ml[dpm_i] = 0; dpm_mr[dpm_i] = 0 }; " . \
  "do for [dpm_i = 1:dpm_nr] { dpm_mt[dpm_i] = 0; dpm_mb[dpm_i] = 0 } }; set multiplot"
# pass 2: the common plot width and height, and the screen edges of the plot area of column c and row r
dpm_pw(z) = (1.0 - (sum [dpm_j = 1:dpm_nc] (dpm_ml[dpm_j] + dpm_mr[dpm_j]))) / dpm_nc
dpm_ph(z) = (1.0 - dpm_band(0) - (sum [dpm_j = 1:dpm_nr] (dpm_mt[dpm_j] + dpm_mb[dpm_j]))) / dpm_nr
dpm_x0(c) = (sum [dpm_j = 1:c] dpm_ml[dpm_j]) + (sum [dpm_j = 1:c - 1] dpm_mr[dpm_j]) + (c - 1) * dpm_pw(0)
dpm_y1(r) = 1.0 - dpm_band(0) - (sum [dpm_j = 1:r] dpm_mt[dpm_j]) - (sum [dpm_j = 1:r - 1] dpm_mb[dpm_j]) - (r - 1) * dpm_ph(0)
dpm_panel(r, c) = (dpm_r = r, dpm_c = c, \
  dpm_cw = 1.0 / dpm_nc, dpm_ch = (1.0 - dpm_band(0)) / dpm_nr, \
  dpm_cx0 = (c - 1) * dpm_cw, dpm_cy0 = (1.0 - dpm_band(0)) - r * dpm_ch, \
  dpm_pass == 1 \
    ? sprintf("set origin %.6f, %.6f; set size %.6f, %.6f; set lmargin -1; set rmargin -1; set tmargin -1; set bmargin -1", \
              dpm_cx0, dpm_cy0, dpm_cw, dpm_ch) \
    : sprintf("set origin 0, 0; set size 1, 1; set lmargin at screen %.6f; set rmargin at screen %.6f; set tmargin at screen %.6f; set bmargin at screen %.6f", \
              dpm_x0(c), dpm_x0(c) + dpm_pw(0), dpm_y1(r), dpm_y1(r) - dpm_ph(0)))
# after a panel's plot in pass 1: how far its plot area sits inside its cell on each side, the room its text took
dpm_fx(v) = v * GPVAL_TERM_SCALE / GPVAL_TERM_XSIZE
dpm_fy(v) = v * GPVAL_TERM_SCALE / GPVAL_TERM_YSIZE
dpm_max(a, b) = a > b ? a : b
dpm_panel_end = "if (dpm_pass == 1) { " . \
  "dpm_ml[dpm_c] = dpm_max(dpm_ml[dpm_c], dpm_fx(GPVAL_TERM_XMIN) - dpm_cx0); " . \
  "dpm_mr[dpm_c] = dpm_max(dpm_mr[dpm_c], dpm_cx0 + dpm_cw - dpm_fx(GPVAL_TERM_XMAX)); " . \
  "dpm_mb[dpm_r] = dpm_max(dpm_mb[dpm_r], dpm_fy(GPVAL_TERM_YMIN) - dpm_cy0); " . \
  "dpm_mt[dpm_r] = dpm_max(dpm_mt[dpm_r], dpm_cy0 + dpm_ch - dpm_fy(GPVAL_TERM_YMAX)); " . \
  "dpm_vchar = GPVAL_TERM_VCHAR / real(GPVAL_TERM_YSIZE) }"
# The key band: a frameless full-page plot whose key is centred at the top, n entries in dpm_keyrows rows (a
# horizontal key is limited by its number of columns, not rows).
dpm_key_begin(n) = sprintf("set origin 0, 0; set size 1, 1; set lmargin at screen 0; set rmargin at screen 1; " . \
  "set tmargin at screen 1; set bmargin at screen 0; unset title; unset xlabel; unset ylabel; unset border; " . \
  "unset tics; unset grid; unset logscale; unset colorbox; unset label; unset object; unset arrow; " . \
  "set key at screen 0.5, screen %.6f center top horizontal maxcols %d maxrows %d spacing %g", \
  1.0 - dpm_pad * dpm_vchar, int(ceil(n / real(dpm_keyrows))), dpm_keyrows, dpm_keyspacing)
