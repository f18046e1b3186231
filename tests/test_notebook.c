/* test_notebook.c — the figure pipeline: nbformat-4 notebooks (parsed back with jansson, validated by nbformat),
 * RFC 4648 base64, gnuplot runs whose failures are errors that leave no file, and real PDF/PNG/SVG output. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "dpmlab.h"
#include "testutil.h"

/* A valid 1x1 RGBA PNG (chunk CRCs checked): signature, IHDR, IDAT, IEND. */
static const unsigned char ONE_PNG[67] = {
    0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x48, 0x44, 0x52, 0x00,
    0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x08, 0x06, 0x00, 0x00, 0x00, 0x1f, 0x15, 0xc4, 0x89, 0x00,
    0x00, 0x00, 0x0a, 0x49, 0x44, 0x41, 0x54, 0x78, 0x9c, 0x63, 0x00, 0x01, 0x00, 0x00, 0x05, 0x00, 0x01,
    0x0d, 0x0a, 0x2d, 0xb4, 0x00, 0x00, 0x00, 0x00, 0x49, 0x45, 0x4e, 0x44, 0xae, 0x42, 0x60, 0x82};

/* ---- helpers --------------------------------------------------------------------------------------------- */

static char *make_tmpdir(void)
{
  char *dir = strdup("/tmp/dpmtest-nbXXXXXX");
  assert_non_null(dir);
  assert_non_null(mkdtemp(dir));
  return dir;
}

/* rm -r of a flat temporary folder (and one level of sub-folders) */
static void remove_tree(const char *dir)
{
  DIR *d = opendir(dir);
  if (!d) return;
  struct dirent *e;
  char path[1024];
  while ((e = readdir(d)) != NULL) {
    if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) continue;
    snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
    struct stat st;
    if (stat(path, &st) == 0 && S_ISDIR(st.st_mode))
      remove_tree(path);
    else
      unlink(path);
  }
  closedir(d);
  rmdir(dir);
}

/* number of entries in a folder */
static int count_entries(const char *dir)
{
  DIR *d = opendir(dir);
  assert_non_null(d);
  int n = 0;
  struct dirent *e;
  while ((e = readdir(d)) != NULL)
    if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0) n++;
  closedir(d);
  return n;
}

static void write_file(const char *path, const void *data, size_t n)
{
  FILE *fp = fopen(path, "wb");
  assert_non_null(fp);
  assert_int_equal(fwrite(data, 1, n, fp), n);
  assert_int_equal(fclose(fp), 0);
}

static void write_text(const char *dir, const char *name, const char *text)
{
  char path[1024];
  snprintf(path, sizeof path, "%s/%s", dir, name);
  write_file(path, text, strlen(text));
}

static unsigned char *read_file(const char *path, size_t *n)
{
  FILE *fp = fopen(path, "rb");
  if (!fp) return NULL;
  fseek(fp, 0, SEEK_END);
  long len = ftell(fp);
  fseek(fp, 0, SEEK_SET);
  unsigned char *buf = malloc((size_t)len + 1);
  assert_non_null(buf);
  assert_int_equal(fread(buf, 1, (size_t)len, fp), (size_t)len);
  fclose(fp);
  buf[len] = 0;
  *n = (size_t)len;
  return buf;
}

/* An independent base64 decoder (RFC 4648 §4) for round trips; returns the length or -1 on bad input. */
static long b64_decode(const char *s, unsigned char *out)
{
  size_t n = strlen(s);
  if (n % 4) return -1;
  long len = 0;
  for (size_t i = 0; i < n; i += 4) {
    int v[4];
    for (int j = 0; j < 4; j++) {
      char c = s[i + j];
      const char *abc = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
      const char *p = c ? strchr(abc, c) : NULL;
      v[j] = c == '=' ? -1 : p ? (int)(p - abc) : -2;
      if (v[j] == -2) return -1;
    }
    if (v[0] < 0 || v[1] < 0) return -1;
    out[len++] = (unsigned char)((v[0] << 2) | (v[1] >> 4));
    if (v[2] >= 0) out[len++] = (unsigned char)(((v[1] & 15) << 4) | (v[2] >> 2));
    if (v[3] >= 0) out[len++] = (unsigned char)(((v[2] & 3) << 6) | v[3]);
  }
  return len;
}

/* The text of an nbformat multiline string (a list of lines), checking each line but the last ends in '\n'. */
static char *join_lines(const json_t *list)
{
  assert_true(json_is_array(list));
  size_t n = json_array_size(list), total = 1;
  for (size_t i = 0; i < n; i++)
    total += json_string_length(json_array_get(list, i));
  char *s = malloc(total);
  assert_non_null(s);
  s[0] = 0;
  for (size_t i = 0; i < n; i++) {
    const char *line = json_string_value(json_array_get(list, i));
    assert_non_null(line);
    size_t len = strlen(line);
    if (i + 1 < n) assert_true(len > 0 && line[len - 1] == '\n');
    const char *nl = strchr(line, '\n');
    assert_true(nl == NULL || nl == line + len - 1); /* at most one '\n', at the end */
    strcat(s, line);
  }
  return s;
}

static void assert_source(const json_t *cell, const char *expected)
{
  char *s = join_lines(json_object_get(cell, "source"));
  assert_string_equal(s, expected);
  free(s);
}

/* ---- base64 ---------------------------------------------------------------------------------------------- */

static void test_base64_rfc4648(void **state)
{
  (void)state;
  /* RFC 4648 §10 test vectors */
  static const char *const in[] = {"", "f", "fo", "foo", "foob", "fooba", "foobar"};
  static const char *const want[] = {"", "Zg==", "Zm8=", "Zm9v", "Zm9vYg==", "Zm9vYmE=", "Zm9vYmFy"};
  for (size_t i = 0; i < 7; i++) {
    char *b = dpm_notebook_base64_encode((const unsigned char *)in[i], strlen(in[i]));
    assert_non_null(b);
    assert_string_equal(b, want[i]);
    free(b);
  }
  /* every byte value, every length 0..258 mod 3: round trip through an independent decoder */
  unsigned char bytes[259], back[259];
  for (size_t i = 0; i < sizeof bytes; i++)
    bytes[i] = (unsigned char)(255 - (i * 7) % 256);
  for (size_t n = 0; n <= sizeof bytes; n += 1 + n / 4) {
    char *b = dpm_notebook_base64_encode(bytes, n);
    assert_non_null(b);
    assert_int_equal(strlen(b), 4 * ((n + 2) / 3));
    assert_int_equal(b64_decode(b, back), (long)n);
    assert_memory_equal(back, bytes, n);
    free(b);
  }
}

/* ---- notebooks ------------------------------------------------------------------------------------------- */

static void test_notebook_structure(void **state)
{
  (void)state;
  char *dir = make_tmpdir();
  char png[1024], path[1024];
  snprintf(png, sizeof png, "%s/fig.png", dir);
  snprintf(path, sizeof path, "%s/demo.ipynb", dir);
  write_file(png, ONE_PNG, sizeof ONE_PNG);

  dpm_notebook *nb = dpm_notebook_alloc();
  assert_non_null(nb);
  assert_int_equal(dpm_notebook_markdown(nb, "# Title %d\n\n$$\\tfrac12 \\nabla d^2 = \\sigma\\epsilon^*$$", 7),
                   0);
  assert_int_equal(dpm_notebook_command(nb, "build/demos/x --seed 3", NULL), 0);
  assert_int_equal(dpm_notebook_command(nb, "build/dpmlab oracle", "a,b\n1,2\n"), 0);
  static const char *const names[2] = {"σ", "max error"};
  const double v[4] = {0.5, 1.25e-9, 2.0, -3.0};
  assert_int_equal(dpm_notebook_table(nb, 2, names, 2, v, 3), 0);
  assert_int_equal(dpm_notebook_figure(nb, png, "A caption."), 0);
  assert_int_equal(dpm_notebook_write(nb, path), 0);
  dpm_notebook_free(nb);
  assert_int_equal(count_entries(dir), 2); /* the PNG and the notebook: no temporary left */

  json_error_t jerr;
  json_t *root = json_load_file(path, 0, &jerr);
  if (!root) {
    print_error("%s:%d: %s\n", path, jerr.line, jerr.text);
    fail();
  }
  assert_int_equal(json_integer_value(json_object_get(root, "nbformat")), 4);
  assert_int_equal(json_integer_value(json_object_get(root, "nbformat_minor")), 4);
  json_t *meta = json_object_get(root, "metadata");
  assert_string_equal(json_string_value(json_object_get(json_object_get(meta, "kernelspec"), "name")), "python3");
  assert_string_equal(json_string_value(json_object_get(json_object_get(meta, "language_info"), "name")),
                      "python");
  json_t *cells = json_object_get(root, "cells");
  assert_int_equal(json_array_size(cells), 6); /* markdown, 2 commands, table, figure + caption */

  json_t *c = json_array_get(cells, 0);
  assert_string_equal(json_string_value(json_object_get(c, "cell_type")), "markdown");
  assert_true(json_is_object(json_object_get(c, "metadata")));
  assert_source(c, "# Title 7\n\n$$\\tfrac12 \\nabla d^2 = \\sigma\\epsilon^*$$");
  assert_int_equal(json_array_size(json_object_get(c, "source")), 3);

  c = json_array_get(cells, 1);
  assert_string_equal(json_string_value(json_object_get(c, "cell_type")), "code");
  assert_true(json_is_null(json_object_get(c, "execution_count")));
  assert_int_equal(json_array_size(json_object_get(c, "outputs")), 0);
  assert_source(c, "!build/demos/x --seed 3");

  c = json_array_get(cells, 2);
  json_t *o = json_array_get(json_object_get(c, "outputs"), 0);
  assert_string_equal(json_string_value(json_object_get(o, "output_type")), "stream");
  assert_string_equal(json_string_value(json_object_get(o, "name")), "stdout");
  char *text = join_lines(json_object_get(o, "text"));
  assert_string_equal(text, "a,b\n1,2\n");
  free(text);

  c = json_array_get(cells, 3);
  assert_source(c, "| σ | max error |\n| ---: | ---: |\n| 0.5 | 1.25e-09 |\n| 2 | -3 |\n");

  c = json_array_get(cells, 4);
  assert_string_equal(json_string_value(json_object_get(c, "cell_type")), "code");
  o = json_array_get(json_object_get(c, "outputs"), 0);
  assert_string_equal(json_string_value(json_object_get(o, "output_type")), "display_data");
  json_t *data = json_object_get(o, "data");
  const char *b64 = json_string_value(json_object_get(data, "image/png"));
  assert_non_null(b64);
  unsigned char back[128];
  assert_int_equal(b64_decode(b64, back), (long)sizeof ONE_PNG);
  assert_memory_equal(back, ONE_PNG, sizeof ONE_PNG);
  assert_non_null(json_string_value(json_object_get(data, "text/plain")));
  /* the figure's source shows it again by its path relative to the notebook (same folder: plain name) */
  assert_source(c, "from IPython.display import Image\nImage(filename=\"fig.png\")");
  assert_source(json_array_get(cells, 5), "A caption.");
  json_decref(root);

  /* nbformat's own schema check (python3-nbformat is a listed dependency) */
  char cmd[2048];
  snprintf(cmd, sizeof cmd, "/usr/bin/python3 tests/validate_notebooks.py %s", path);
  char *out = NULL, *err = NULL;
  int rc = dpm_test_run(cmd, NULL, &out, &err);
  if (rc != 0) print_error("validate_notebooks: %s%s\n", out ? out : "", err ? err : "");
  assert_int_equal(rc, 0);
  free(out);
  free(err);
  remove_tree(dir);
  free(dir);
}

/* Figure paths are written relative to the notebook's folder. */
static void test_notebook_relative_figure(void **state)
{
  (void)state;
  char *dir = make_tmpdir();
  char cwd[1024];
  assert_non_null(getcwd(cwd, sizeof cwd));
  assert_int_equal(chdir(dir), 0);
  assert_int_equal(mkdir("figs", 0777), 0);
  assert_int_equal(mkdir("nbs", 0777), 0);
  assert_int_equal(mkdir("nbs/deep", 0777), 0);
  write_file("figs/a.png", ONE_PNG, sizeof ONE_PNG);
  dpm_notebook *nb = dpm_notebook_alloc();
  assert_int_equal(dpm_notebook_figure(nb, "figs/a.png", NULL), 0);
  assert_int_equal(dpm_notebook_write(nb, "nbs/deep/x.ipynb"), 0);
  dpm_notebook_free(nb);
  json_t *root = json_load_file("nbs/deep/x.ipynb", 0, NULL);
  assert_non_null(root);
  json_t *cells = json_object_get(root, "cells");
  assert_int_equal(json_array_size(cells), 1); /* no caption, no caption cell */
  assert_source(json_array_get(cells, 0),
                "from IPython.display import Image\nImage(filename=\"../../figs/a.png\")");
  json_decref(root);
  assert_int_equal(chdir(cwd), 0);
  remove_tree(dir);
  free(dir);
}

static void test_notebook_errors(void **state)
{
  (void)state;
  char *dir = make_tmpdir();
  char path[1024], bad[1024];
  snprintf(path, sizeof path, "%s/out.ipynb", dir);
  snprintf(bad, sizeof bad, "%s/not-a-png.png", dir);
  write_text(dir, "not-a-png.png", "GIF89a, or any text: no PNG signature\n");
  dpm_notebook *nb = dpm_notebook_alloc();
  assert_int_equal(dpm_notebook_markdown(nb, "text"), 0);

  /* an unreadable or non-PNG figure is an error, adds no cell, and a failed run writes no file */
  char missing[1024];
  snprintf(missing, sizeof missing, "%s/missing.png", dir);
  assert_raises(dpm_notebook_figure(nb, missing, "c"), GSL_EFAILED, "missing.png");
  assert_raises(dpm_notebook_figure(nb, bad, "c"), GSL_EFAILED, "not a PNG");
  write_text(dir, "empty.png", "");
  char empty[1024];
  snprintf(empty, sizeof empty, "%s/empty.png", dir);
  assert_raises(dpm_notebook_figure(nb, empty, NULL), GSL_EFAILED, "not a PNG");
  assert_int_equal(count_entries(dir), 2); /* the two bad inputs only: nothing written */

  /* bad tables */
  static const char *const names[2] = {"a", NULL};
  double v[2] = {1, 2};
  assert_raises(dpm_notebook_table(nb, 0, names, 1, v, 3), GSL_EINVAL, NULL);
  assert_raises(dpm_notebook_table(nb, 2, names, 1, v, 3), GSL_EINVAL, "column 1");
  assert_raises(dpm_notebook_table(nb, 1, names, 1, v, 0), GSL_EINVAL, NULL);
  assert_raises(dpm_notebook_table(nb, 1, names, 1, v, 18), GSL_EINVAL, NULL);

  /* writing: to a folder that does not exist is an error and leaves nothing; "-" and NULL are refused */
  char nodir[1024];
  snprintf(nodir, sizeof nodir, "%s/no/such/folder.ipynb", dir);
  assert_raises(dpm_notebook_write(nb, nodir), GSL_EFAILED, NULL);
  assert_raises(dpm_notebook_write(nb, "-"), GSL_EINVAL, NULL);
  assert_raises(dpm_notebook_write(nb, NULL), GSL_EINVAL, NULL);
  assert_int_equal(count_entries(dir), 2);

  /* the notebook still holds exactly the one good cell */
  assert_int_equal(dpm_notebook_write(nb, path), 0);
  json_t *root = json_load_file(path, 0, NULL);
  assert_non_null(root);
  assert_int_equal(json_array_size(json_object_get(root, "cells")), 1);
  json_decref(root);
  dpm_notebook_free(nb);
  dpm_notebook_free(NULL); /* a no-op */
  remove_tree(dir);
  free(dir);
}

/* ---- templates -----------------------------------------------------------------------------------------------
 */

/* A values file and a template in a fresh folder; *v the values read back. */
static char *template_fixture(dpm_notebook_values **v)
{
  char *dir = make_tmpdir();
  write_text(dir, "x.values",
             "# comment\n"
             "spec\tgmm1d\n"
             "N\t1000\n"
             "tol\t1.0000000000000001e-05\n"
             "K\t10\t25\t50\n"
             "t[0]\t0.5\t1.25\n"
             "t[1]\t2\tinf\n"
             "t[2]\tnan\t-inf\n"
             "words\ta b\tc\n");
  char path[1024];
  snprintf(path, sizeof path, "%s/x.values", dir);
  *v = dpm_notebook_values_read(path);
  assert_non_null(*v);
  return dir;
}

/* Fill text and compare with the expected result. */
static void assert_fill(const dpm_notebook_values *v, const char *text, const char *expected)
{
  dpm_error_clear();
  char *s = dpm_notebook_fill(text, v, "t.md", 1);
  if (!s) fail_msg("fill '%s': %s", text, dpm_error_last());
  if (strcmp(s, expected) != 0) fail_msg("fill '%s':\n got '%s'\nwant '%s'", text, s, expected);
  free(s);
}

static void test_template_fill(void **state)
{
  (void)state;
  dpm_notebook_values *v;
  char *dir = template_fixture(&v);
  assert_string_equal(dpm_notebook_values_get(v, "words", 0), "a b");
  assert_string_equal(dpm_notebook_values_get(v, "t[1]", 1), "inf");
  assert_null(dpm_notebook_values_get(v, "K", 3));
  /* text as written, numbers through a format, lists by index */
  assert_fill(v, "`{{spec}}`, N = {{N}}, tol {{tol:%g}}, K_1 = {{K[1]}}",
              "`gmm1d`, N = 1000, tol 1e-05, K_1 = 25");
  assert_fill(v, "$x_{ {{K[0]}} }$ {{N:%.1f×}} 100%% {{tol:%.0e%%}}", "$x_{ 10 }$ 1000.0× 100%% 1e-05%");
  /* a line with [i] is repeated per row; {{each j}} repeats within the line; lines without loops are kept */
  assert_fill(v, "| K |\n| {{K[i]}} |\nend", "| K |\n| 10 |\n| 25 |\n| 50 |\nend");
  assert_fill(v, "|{{each j}} {{K[j]}} |{{end}}", "| 10 | 25 | 50 |");
  assert_fill(v, "|{{each j}} {{t[i][j]:%.2f}} |{{end}}", "| 0.50 | 1.25 |\n| 2.00 | ∞ |\n| — | −∞ |");
  /* the texts of ±inf and NaN, themselves filled */
  assert_fill(v, "{{t[1][1]:%.1f|more than {{N}}|none}} {{t[2][0]:%.1f|inf|not {{spec}}}} {{t[0][0]:%.1f|a|b}}",
              "more than 1000 not gmm1d 0.5");
  dpm_notebook_values_free(v);
  remove_tree(dir);
  free(dir);
}

static void test_template_errors(void **state)
{
  (void)state;
  dpm_notebook_values *v;
  char *dir = template_fixture(&v);
  /* unknown placeholder and missing value: the file, the line and the placeholder named */
  assert_raises_null(dpm_notebook_fill("a\nb {{nope}}", v, "demo.md", 7),
                     "demo.md:8: unknown placeholder {{nope}}");
  assert_raises_null(dpm_notebook_fill("{{K[3]}}", v, "demo.md", 2),
                     "demo.md:2: placeholder {{K[3]}}: missing value");
  assert_raises_null(dpm_notebook_fill("{{t[5][0]}}", v, "d.md", 1), "d.md:1: unknown placeholder {{t[5][0]}}");
  assert_raises_null(dpm_notebook_fill("{{K}}", v, "d.md", 1), "holds 3 values");
  assert_raises_null(dpm_notebook_fill("{{K[j]}}", v, "d.md", 1), "outside a loop");
  assert_raises_null(dpm_notebook_fill("{{spec:%.3f}}", v, "d.md", 1), "not a number");
  assert_raises_null(dpm_notebook_fill("{{N:%d}}", v, "d.md", 1), "not a format");
  assert_raises_null(dpm_notebook_fill("{{N:%f %f}}", v, "d.md", 1), "not a format");
  assert_raises_null(dpm_notebook_fill("{{N", v, "d.md", 1), "without its");
  assert_raises_null(dpm_notebook_fill("{{each j}}{{K[j]}}", v, "d.md", 1), "without its {{end}}");
  assert_raises_null(dpm_notebook_fill("| {{K[i]}} | {{words[i]}} |", v, "d.md", 1), "differ in length");
  /* bad values files: no tab, a repeated key, a bad key (file:line named) */
  write_text(dir, "bad1.values", "a\t1\nb 2\n");
  write_text(dir, "bad2.values", "a\t1\na\t2\n");
  write_text(dir, "bad3.values", "a[x]\t1\n");
  char path[1024];
  snprintf(path, sizeof path, "%s/bad1.values", dir);
  assert_raises_null(dpm_notebook_values_read(path), "bad1.values:2: no tab");
  snprintf(path, sizeof path, "%s/bad2.values", dir);
  assert_raises_null(dpm_notebook_values_read(path), "bad2.values:2: key 'a' given twice");
  snprintf(path, sizeof path, "%s/bad3.values", dir);
  assert_raises_null(dpm_notebook_values_read(path), "bad3.values:1: bad key");
  snprintf(path, sizeof path, "%s/none.values", dir);
  assert_raises_null(dpm_notebook_values_read(path), "none.values");

  /* a template file: cells, a directive with its caption, and an error that leaves the notebook unchanged */
  write_text(dir, "good.md",
             "<!-- # a comment -->\n# Title {{spec}}\n\ntext\n<!-- cell -->\n| {{K[i]}} |\n"
             "<!-- shout {{N}} -->\ncaption\n\n<!-- cell -->\nlast\n");
  write_text(dir, "bad.md", "# Title\n\nline 3\n{{K[1]}} and {{missing}}\n");
  dpm_notebook *nb = dpm_notebook_alloc();
  snprintf(path, sizeof path, "%s/bad.md", dir);
  assert_raises(dpm_notebook_template(nb, path, v, NULL, NULL), GSL_EINVAL,
                "bad.md:4: unknown placeholder {{missing}}");
  snprintf(path, sizeof path, "%s/good.md", dir);
  assert_raises(dpm_notebook_template(nb, path, v, NULL, NULL), GSL_EINVAL, "good.md:7: directive 'shout'");
  dpm_notebook_free(nb);
  dpm_notebook_values_free(v);
  remove_tree(dir);
  free(dir);
}

/* A directive handler that writes "<name>(<args>)[<next>]" as a code cell and takes the next block. */
static int shout(void *arg, dpm_notebook *nb, const char *name, const char *args, const char *next, int *used)
{
  (void)arg;
  char cell[256];
  snprintf(cell, sizeof cell, "%s(%s)[%s]", name, args, next ? next : "");
  *used = 1;
  return dpm_notebook_code(nb, cell);
}

static void test_template_notebook(void **state)
{
  (void)state;
  dpm_notebook_values *v;
  char *dir = template_fixture(&v);
  write_text(dir, "good.md",
             "<!-- # a comment -->\n# Title {{spec}}\n\ntext\n<!-- cell -->\n| {{K[i]}} |\n"
             "<!-- shout {{N}} -->\ncaption\n\n<!-- cell -->\nlast\n");
  char path[1024], out[1024];
  snprintf(path, sizeof path, "%s/good.md", dir);
  snprintf(out, sizeof out, "%s/good.ipynb", dir);
  dpm_notebook *nb = dpm_notebook_alloc();
  assert_int_equal(dpm_notebook_template(nb, path, v, shout, NULL), 0);
  assert_int_equal(dpm_notebook_write(nb, out), 0);
  json_t *root = json_load_file(out, 0, NULL);
  assert_non_null(root);
  json_t *cells = json_object_get(root, "cells");
  assert_int_equal(json_array_size(cells), 4);
  assert_source(json_array_get(cells, 0), "# Title gmm1d\n\ntext");
  assert_source(json_array_get(cells, 1), "| 10 |\n| 25 |\n| 50 |");
  assert_source(json_array_get(cells, 2), "shout(1000)[caption]");
  assert_source(json_array_get(cells, 3), "last");
  json_decref(root);
  dpm_notebook_free(nb);
  dpm_notebook_values_free(v);
  remove_tree(dir);
  free(dir);
}

/* ---- gnuplot --------------------------------------------------------------------------------------------- */

/* A plots folder in a fresh temporary folder, with the project's style.gp, a good script, failing ones and a
 * data file; DPM_PLOTS_DIR points at it. */
static char *plots_fixture(char *data, size_t n)
{
  char *dir = make_tmpdir();
  size_t len;
  unsigned char *style = read_file("plots/style.gp", &len);
  assert_non_null(style);
  char path[1024];
  snprintf(path, sizeof path, "%s/style.gp", dir);
  write_file(path, style, len);
  free(style);
  write_text(dir, "good.gp",
             "dpm_slash(s) = strstrt(s, '/') ? strstrt(s, '/') + dpm_slash(s[strstrt(s, '/') + 1:]) : 0\n"
             "load ARG0[1:dpm_slash(ARG0)].'style.gp'\n"
             "eval dpm_output(ARG2, 3.4, 2.4)\n"
             "set xlabel dpm_L('{/:Italic t}', '$t$')\n"
             "plot ARG1 index 'curve' using 1:2 with lines title 'data'\n");
  write_text(dir, "syntax.gp", "set terminal pngcairo\nset output ARG2\nplot sin(x) with nonsense\n");
  write_text(dir, "status.gp", "exit status 3\n");
  write_text(dir, "killed.gp", "system('kill -KILL $PPID')\npause 5\n");
  write_text(dir, "silent.gp", "print 'writes nothing'\n");
  write_text(dir, "data.dat", "# header\n\n\n# curve: t y\n0 0\n0.5 0.25\n1 1\n");
  snprintf(data, n, "%s/data.dat", dir);
  assert_int_equal(setenv("DPM_PLOTS_DIR", dir, 1), 0);
  return dir;
}

static void assert_signature(const char *path, const char *sig, size_t n)
{
  size_t len = 0;
  unsigned char *buf = read_file(path, &len);
  if (!buf) {
    print_error("%s: not written\n", path);
    fail();
  }
  assert_true(len > n);
  assert_memory_equal(buf, sig, n);
  free(buf);
}

static void test_plot_good(void **state)
{
  (void)state;
  char data[1024], out[1024];
  char *dir = plots_fixture(data, sizeof data);
  snprintf(out, sizeof out, "%s/fig.png", dir);
  assert_int_equal(dpm_plot_run("good", data, out), 0);
  assert_signature(out, "\x89PNG\r\n\x1a\n", 8);
  snprintf(out, sizeof out, "%s/fig.svg", dir);
  assert_int_equal(dpm_plot_run("good", data, out), 0);
  assert_signature(out, "<?xml", 5);

  /* dpm_plot_figure: stem.pdf and stem.png, and with DPM_CAIROLATEX=1 also stem-latex.tex (+ its graphics) */
  char stem[1024];
  snprintf(stem, sizeof stem, "%s/both", dir);
  assert_int_equal(setenv("DPM_CAIROLATEX", "1", 1), 0);
  assert_int_equal(dpm_plot_figure("good", data, stem), 0);
  unsetenv("DPM_CAIROLATEX");
  snprintf(out, sizeof out, "%s/both.pdf", dir);
  assert_signature(out, "%PDF", 4);
  snprintf(out, sizeof out, "%s/both.png", dir);
  assert_signature(out, "\x89PNG\r\n\x1a\n", 8);
  snprintf(out, sizeof out, "%s/both-latex.tex", dir);
  size_t len;
  char *tex = (char *)read_file(out, &len);
  assert_non_null(tex);
  assert_non_null(strstr(tex, "\\begin{picture}"));
  assert_non_null(strstr(tex, "$t$")); /* dpm_L picked the TeX label */
  free(tex);
  snprintf(out, sizeof out, "%s/both-latex.pdf", dir);
  assert_signature(out, "%PDF", 4);
  /* style + 4 bad scripts + good + data + fig.png + fig.svg + both.{pdf,png} + both-latex.{tex,pdf}: no
   * temporaries */
  assert_int_equal(count_entries(dir), 13);
  unsetenv("DPM_PLOTS_DIR");
  remove_tree(dir);
  free(dir);
}

static void expect_plot_error(const char *dir, const char *script, const char *data, const char *out, int status,
                              const char *needle1, const char *needle2)
{
  int before = count_entries(dir);
  assert_raises(dpm_plot_run(script, data, out), status, needle1);
  if (needle2) assert_reason_has(needle2);
  assert_int_equal(count_entries(dir), before); /* no output, no temporary left behind */
}

static void test_plot_errors(void **state)
{
  (void)state;
  char data[1024], out[1024];
  char *dir = plots_fixture(data, sizeof data);
  snprintf(out, sizeof out, "%s/fig.png", dir);
  /* gnuplot fails: the reason names the script and the exit status */
  expect_plot_error(dir, "syntax", data, out, GSL_EFAILED, "syntax.gp", "status 1");
  expect_plot_error(dir, "status", data, out, GSL_EFAILED, "status.gp", "status 3");
  expect_plot_error(dir, "killed", data, out, GSL_EFAILED, "killed.gp", "signal 9");
  expect_plot_error(dir, "silent", data, out, GSL_EFAILED, "silent.gp", "wrote nothing");
  /* bad arguments, caught before gnuplot runs */
  expect_plot_error(dir, "nosuch", data, out, GSL_EFAILED, "nosuch.gp", "No such file");
  char nodata[1024];
  snprintf(nodata, sizeof nodata, "%s/nodata.dat", dir);
  expect_plot_error(dir, "good", nodata, out, GSL_EFAILED, "nodata.dat", NULL);
  snprintf(out, sizeof out, "%s/fig.jpg", dir);
  expect_plot_error(dir, "good", data, out, GSL_EINVAL, "fig.jpg", ".pdf, .png, .svg or .tex");
  expect_plot_error(dir, "good", data, NULL, GSL_EINVAL, "no output", NULL);
  expect_plot_error(dir, "", data, "x.png", GSL_EINVAL, "no script", NULL);
  expect_plot_error(dir, "good", NULL, "x.png", GSL_EINVAL, "no data", NULL);
  /* an output folder that does not exist */
  snprintf(out, sizeof out, "%s/no/such/fig.png", dir);
  expect_plot_error(dir, "good", data, out, GSL_EFAILED, "temporary file", NULL);
  /* gnuplot itself missing */
  snprintf(out, sizeof out, "%s/fig.png", dir);
  assert_int_equal(setenv("DPM_GNUPLOT", "/nonexistent/gnuplot", 1), 0);
  expect_plot_error(dir, "good", data, out, GSL_EFAILED, "cannot run /nonexistent/gnuplot", NULL);
  unsetenv("DPM_GNUPLOT");
  /* dpm_plot_figure reports a failing script (at its first output) and a missing stem */
  char stem[1024];
  snprintf(stem, sizeof stem, "%s/fig", dir);
  assert_raises(dpm_plot_figure("status", data, stem), GSL_EFAILED, NULL);
  assert_raises(dpm_plot_figure("good", data, NULL), GSL_EINVAL, NULL);
  /* style.gp itself stops with status 2 on an output it has no terminal for (gnuplot run directly) */
  char cmd[2048], *err = NULL;
  snprintf(cmd, sizeof cmd, "gnuplot -c %s/good.gp %s %s/fig.jpg", dir, data, dir);
  assert_int_equal(dpm_test_run(cmd, NULL, NULL, &err), 2);
  assert_non_null(err);
  assert_non_null(strstr(err, "extension must be .pdf, .png, .svg or .tex"));
  free(err);
  unsetenv("DPM_PLOTS_DIR");
  remove_tree(dir);
  free(dir);
}

int main(void)
{
  dpm_error_install();
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_base64_rfc4648),
      cmocka_unit_test(test_notebook_structure),
      cmocka_unit_test(test_notebook_relative_figure),
      cmocka_unit_test(test_notebook_errors),
      cmocka_unit_test(test_template_fill),
      cmocka_unit_test(test_template_errors),
      cmocka_unit_test(test_template_notebook),
      cmocka_unit_test(test_plot_good),
      cmocka_unit_test(test_plot_errors),
  };
  return cmocka_run_group_tests_name("notebook", tests, NULL, NULL);
}
