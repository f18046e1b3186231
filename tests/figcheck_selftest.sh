#!/bin/sh
# figcheck_selftest.sh — the layout check must be able to fail: tiny figures made with gnuplot and plots/style.gp
# (the pinned font, the PDF terminal of every figure) whose verdict is known, run through tests/figcheck.py.
#   sh tests/figcheck_selftest.sh OUTDIR     (prints one line per case and "figcheck self-test: N passed, N failed")
out=${1:-build/figcheck-selftest}
mkdir -p "$out" || exit 2
pass=0; fail=0

# case NAME EXPECTED_EXIT GNUPLOT_COMMANDS: render a 3 x 1.5 in PDF with the commands and check figcheck's exit code
case_() {
  name=$1; want=$2; body=$3
  pdf="$out/$name.pdf"
  rm -f "$pdf"
  printf '%s\n' "dpm_style_file = 'plots/style.gp'" "load 'plots/style.gp'" "eval dpm_output('$pdf', 3.0, 1.5)" "unset border; unset tics; unset grid" \
    "$body" "plot [0:1][0:1] NaN notitle" > "$out/$name.gp"
  if ! gnuplot "$out/$name.gp" 2>"$out/$name.err" || [ ! -s "$pdf" ]; then
    echo "figcheck self-test: $name: gnuplot failed: $(head -c 300 "$out/$name.err")"; fail=$((fail + 1)); return
  fi
  /usr/bin/python3 tests/figcheck.py --quiet "$pdf" >"$out/$name.log" 2>&1; got=$?
  if [ "$got" -eq "$want" ]; then
    pass=$((pass + 1)); echo "figcheck self-test: $name: exit $got as expected"
  else
    fail=$((fail + 1)); echo "figcheck self-test: $name: exit $got, expected $want:"; cat "$out/$name.log"
  fi
}

# two labels well apart: clean
case_ apart 0 "set label 'first label' at graph 0.05, graph 0.7
set label 'second label' at graph 0.55, graph 0.3"
# the same two labels shifted onto each other by less than a line: a collision
case_ overlap 1 "set label 'first label' at graph 0.30, graph 0.52
set label 'second label' at graph 0.36, graph 0.48"
# a key title printed over a panel title: the defect this check exists for
case_ key_on_title 1 "set title 'a panel title' offset 0, -2
set key at graph 0.5, graph 1.02 center top
plot [0:1][0:1] NaN with lines title 'a key entry'
unset title; unset key"
# two lines of one label and a label one line below: boxes graze (ascent/descent), no collision
case_ stacked 0 "set label 'upper line\nlower line' at graph 0.3, graph 0.7
set label 'next label' at graph 0.3, graph 0.7 offset 0, -2.2"
# a word cut by the right edge of the page (cairo drops glyphs wholly off the page, so only a cut word can be seen)
case_ off_page 1 "set label 'overhanging' at screen 0.92, screen 0.5"
# a rotated label cut by the left edge (a y label with a hand-set margin)
case_ off_page_rotated 1 "set label 'a rotated label' at screen 0.0, screen 0.5 rotate by 90 center"
# accents overprinted with the style's helpers, subscripts after them: one word each, clean
case_ accents 0 "set label dpm_tilde('{/:Italic β}').'_{/:Italic n}, '.dpm_hat('{/:Italic Γ}').'_{/:Italic n}, '.dpm_hat('{/:Italic σ}').'^2' at graph 0.1, graph 0.5"
# no text at all cannot be checked: refused (exit 2), not passed
case_ no_text 2 ""

echo "figcheck self-test: $pass of $((pass + fail)) cases as expected"
[ "$fail" -eq 0 ]
