#!/usr/bin/python3
"""figcheck.py — the layout check of every figure: reads the word boxes of a PDF (`pdftotext -bbox-layout`,
poppler-utils) and fails when two words of different text lines overlap or a word leaves the page.

Usage: tests/figcheck.py [--quiet] FILE.pdf...   (exit 0: all clean; 1: a collision or a word off the page;
2: usage, or a file that pdftotext cannot read or that holds no text at all)

The rule, per page:
  * two words overlap when the intersection of their boxes is at least a quarter of the smaller box; boxes are
    poppler's, which span the font's ascent and descent, so neighbouring lines of one label graze without counting;
  * words of the same text line (poppler's grouping by baseline) are checked too, except neighbours in reading
    order: a subscript is allowed to tuck under its italic base, an accent overprinted on its letter is merged
    into it by poppler;
  * a word falls outside the page when any edge of its box lies beyond the page by more than 0.01 pt. Cairo
    drops glyphs that lie wholly off the page, so such a word is invisible to this check; a label cut by the
    edge is not.
Each problem is printed as one line `FILE: page P: ...` naming the words, their boxes and the overlap fraction.
"""
import subprocess
import sys
import xml.etree.ElementTree as ET

GRAZE = 0.25  # largest allowed intersection, as a fraction of the smaller box
EDGE = 0.01  # pt a box may pass the page edge (rounding of poppler's coordinates)
NS = "{http://www.w3.org/1999/xhtml}"


class Word:
    __slots__ = ("text", "x0", "y0", "x1", "y1", "line", "pos")

    def __init__(self, el, line, pos):
        self.text = el.text or ""
        self.x0, self.y0 = float(el.get("xMin")), float(el.get("yMin"))
        self.x1, self.y1 = float(el.get("xMax")), float(el.get("yMax"))
        self.line, self.pos = line, pos

    def area(self):
        return max(self.x1 - self.x0, 0.0) * max(self.y1 - self.y0, 0.0)

    def __str__(self):
        return "'%s' [%.1f,%.1f]x[%.1f,%.1f]" % (self.text, self.x0, self.x1, self.y0, self.y1)


def overlap_fraction(a, b):
    """Area of the intersection of the boxes of a and b over the area of the smaller box (0 for disjoint boxes or
    a box of zero area)."""
    w = min(a.x1, b.x1) - max(a.x0, b.x0)
    h = min(a.y1, b.y1) - max(a.y0, b.y0)
    small = min(a.area(), b.area())
    if w <= 0 or h <= 0 or small <= 0:
        return 0.0
    return w * h / small


def pages(path):
    """[(width, height, [Word])] of the PDF at path, from pdftotext -bbox-layout; raises RuntimeError when pdftotext
    fails."""
    try:
        run = subprocess.run(["pdftotext", "-bbox-layout", path, "-"], capture_output=True)
    except FileNotFoundError:
        raise RuntimeError("pdftotext not found (Debian package poppler-utils)")
    if run.returncode != 0:
        raise RuntimeError("pdftotext exited with status %d: %s" % (run.returncode, run.stderr.decode(errors="replace").strip()))
    root = ET.fromstring(run.stdout)
    out = []
    for page in root.iter(NS + "page"):
        words = []
        for li, line in enumerate(page.iter(NS + "line")):
            for wi, w in enumerate(line.iter(NS + "word")):
                words.append(Word(w, li, wi))
        out.append((float(page.get("width")), float(page.get("height")), words))
    return out


def problems(width, height, words):
    """One message per overlapping pair and per word off the page."""
    msgs = []
    for w in words:
        if w.x0 < -EDGE or w.y0 < -EDGE or w.x1 > width + EDGE or w.y1 > height + EDGE:
            msgs.append("word %s outside the page [0,%.1f]x[0,%.1f]" % (w, width, height))
    for i in range(len(words)):
        a = words[i]
        for j in range(i + 1, len(words)):
            b = words[j]
            if a.line == b.line and abs(a.pos - b.pos) == 1:
                continue
            f = overlap_fraction(a, b)
            if f >= GRAZE:
                msgs.append("words %s and %s overlap (%.0f%% of the smaller box)" % (a, b, 100 * f))
    return msgs


def main(argv):
    quiet = False
    files = []
    for a in argv[1:]:
        if a == "--quiet":
            quiet = True
        elif a.startswith("-"):
            print("figcheck: unknown option '%s'; usage: figcheck.py [--quiet] FILE.pdf..." % a, file=sys.stderr)
            return 2
        else:
            files.append(a)
    if not files:
        print("figcheck: no PDF given; usage: figcheck.py [--quiet] FILE.pdf...", file=sys.stderr)
        return 2
    status = 0
    for path in files:
        try:
            pp = pages(path)
        except (RuntimeError, ET.ParseError) as e:
            print("%s: cannot read the word boxes: %s" % (path, e), file=sys.stderr)
            status = 2
            continue
        nwords = sum(len(p[2]) for p in pp)
        if nwords == 0:
            print("%s: no text found (a figure without any label cannot be checked)" % path, file=sys.stderr)
            status = 2
            continue
        bad = 0
        for k, (width, height, words) in enumerate(pp, 1):
            for m in problems(width, height, words):
                print("%s: page %d: %s" % (path, k, m))
                bad += 1
        if bad:
            status = max(status, 1)
        elif not quiet:
            print("%s: %d words, no overlap, all on the page" % (path, nwords))
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv))
