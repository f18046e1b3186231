# dpmlab — one non-recursive Makefile: set-up, build, test, figures, notebooks, bench, install.
#
#   make            build build/libdpmlab.a, build/dpmlab, the demos and the tests
#   make test       install missing packages, build, run the whole test suite
#   make run        install missing packages, build, regenerate every figure and notebook
#   make figures    every demo's data and figures (build/figures/*.pdf, *.png)
#   make notebooks  the same run, then validate notebooks-export/*.ipynb with nbformat
#   make bench      speed ratios against reference implementations measured in the same run
#   make crosscheck KDIFFUSION_DIR=... DPM_SOLVER_DIR=...   samplers step for step against k-diffusion and DPM-Solver
#   make install PREFIX=/usr/local DESTDIR=   headers, library, command line and dpmlab.pc
#   make SANITIZER=address,undefined test     sanitizer build (into build-san/)

-include config.mk

# The Debian packages dpmlab needs, in one place. `make deps` installs the missing ones.
PACKAGES := build-essential pkg-config libgsl-dev libopenblas-dev libcmocka-dev libjansson-dev gnuplot-nox \
            python3-nbformat clang-format fonts-freefont-ttf poppler-utils jupyter-nbconvert python3-ipykernel
BENCH_PACKAGES := python3-numpy python3-scipy python3-pot python3-torch

PREFIX  ?= /usr/local
DESTDIR ?=
CC      ?= cc

comma := ,
SANITIZER ?=
ifeq ($(SANITIZER),)
BUILD ?= build
SANFLAGS :=
else
BUILD ?= build-san
SAN_BAD := $(filter-out address undefined,$(subst $(comma), ,$(SANITIZER)))
ifneq ($(SAN_BAD),)
$(error SANITIZER: unknown value '$(SAN_BAD)' (allowed: address, undefined, address,undefined))
endif
SANFLAGS := -fsanitize=$(SANITIZER) -fno-omit-frame-pointer -fno-sanitize-recover=all
endif

WARN := -Wall -Wextra -Wshadow -Wconversion -Wno-sign-conversion -Wdouble-promotion -Wmissing-prototypes \
        -Wstrict-prototypes -Wpointer-arith -Wformat=2 -Wundef
ifeq ($(CI),true)
WARN += -Werror
endif
OPT ?= -O2 -g
# One folder per module (GSL's layout); each holds its public dpm_*.h and, where needed, a private header.
MODULES  := core quad data process oracle denoiser analytic sampler optim metrics io
MODULES  += likelihood
MODULES  += bridge
MODULES  += scorematch
CPPFLAGS += -Ilib $(MODULES:%=-Ilib/%) -D_DEFAULT_SOURCE
CFLAGS   += -std=c11 $(OPT) $(WARN) -fopenmp $(SANFLAGS) -MMD -MP
# GSL's CBLAS calls resolve to OpenBLAS (not gslcblas): -lopenblas comes before libgsl's own dependency on
# libgslcblas in the dynamic linker's search order. OpenBLAS is found through pkg-config (Debian's openblas.pc, the
# pthread variant), evaluated once and only when a link needs it, i.e. after `make deps` installed pkg-config.
BLAS_LIBS = $(eval BLAS_LIBS := $(or $(shell pkg-config --libs openblas 2>/dev/null),\
              $(error pkg-config finds no openblas; run `make deps`)))$(BLAS_LIBS)
LDLIBS   += -lgsl $(BLAS_LIBS) -ljansson -lm
# The command line and the bench programs take OpenBLAS from its static archive when the system has one (Debian's
# -dev package ships it): a process then skips the dynamic loader's relocation of the 36 MB shared library, about
# 6 ms of every start-up. The archive's CBLAS symbols are exported to libgsl as the shared library's were.
BLAS_STATIC = $(eval BLAS_STATIC := $(or $(shell d=$$(pkg-config --variable=libdir openblas 2>/dev/null); \
                [ -f "$$d/libopenblas.a" ] && echo "-L$$d -Wl,-Bstatic -lopenblas -Wl,-Bdynamic -lpthread"),\
                $(BLAS_LIBS)))$(BLAS_STATIC)
EXE_LDLIBS = -lgsl $(BLAS_STATIC) -ljansson -lm
LDFLAGS  += -fopenmp $(SANFLAGS)

LIB_SRC  := $(wildcard $(MODULES:%=lib/%/*.c))
PUBLIC_HEADERS := lib/dpmlab.h $(filter-out %_internal.h,$(wildcard $(MODULES:%=lib/%/dpm_*.h)))
CLI_SRC  := $(wildcard lib/cli/*.c)
DEMO_SRC := $(wildcard demos/*.c)
TEST_SRC := $(wildcard tests/test_*.c)
BENCH_SRC := $(wildcard tests/bench_*.c)
TEST_COMMON := tests/testutil.c

LIB_OBJ  := $(LIB_SRC:%.c=$(BUILD)/obj/%.o)
CLI_OBJ  := $(CLI_SRC:%.c=$(BUILD)/obj/%.o)
DEMO_OBJ := $(DEMO_SRC:%.c=$(BUILD)/obj/%.o) $(BUILD)/obj/demos/common/demo.o
TEST_OBJ := $(TEST_SRC:%.c=$(BUILD)/obj/%.o) $(TEST_COMMON:%.c=$(BUILD)/obj/%.o)

LIBA  := $(BUILD)/libdpmlab.a
CLI   := $(BUILD)/dpmlab
DEMOS := $(DEMO_SRC:demos/%.c=$(BUILD)/demos/%)
TESTS := $(TEST_SRC:tests/%.c=$(BUILD)/tests/%)
BENCHES := $(BENCH_SRC:tests/%.c=$(BUILD)/tests/%)
DEMO_NAMES := $(DEMO_SRC:demos/%.c=%)

.PHONY: all deps bench-deps test run figures notebooks quick-demos notebooks-run bench install uninstall clean format check-format gallery \
        figcheck crosscheck
.DEFAULT_GOAL := all
.SECONDARY:

all: $(LIBA) $(CLI) $(DEMOS) $(TESTS)

# ---- set-up --------------------------------------------------------------------------------------------
deps:
	@PACKAGES="$(PACKAGES)" sh .ci/deps.sh

bench-deps:
	@PACKAGES="$(PACKAGES) $(BENCH_PACKAGES)" sh .ci/deps.sh

# ---- build ---------------------------------------------------------------------------------------------
$(BUILD)/obj/%.o: %.c
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(CFLAGS) -c $< -o $@

$(BUILD)/obj/tests/%.o: CPPFLAGS += -Itests -DDPMLAB_BIN='"$(BUILD)/dpmlab"'
$(BUILD)/obj/demos/%.o: CPPFLAGS += -Idemos/common

$(LIBA): $(LIB_OBJ)
	@mkdir -p $(@D)
	rm -f $@
	$(AR) rcs $@ $^

$(CLI): $(CLI_OBJ) $(LIBA)
	$(CC) $(LDFLAGS) -o $@ $(CLI_OBJ) $(LIBA) $(EXE_LDLIBS)

$(BUILD)/demos/%: $(BUILD)/obj/demos/%.o $(BUILD)/obj/demos/common/demo.o $(LIBA)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) -o $@ $< $(BUILD)/obj/demos/common/demo.o $(LIBA) $(LDLIBS)

$(BUILD)/tests/bench_%: $(BUILD)/obj/tests/bench_%.o $(LIBA)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) -o $@ $< $(LIBA) $(EXE_LDLIBS)

$(BUILD)/tests/%: $(BUILD)/obj/tests/%.o $(TEST_COMMON:%.c=$(BUILD)/obj/%.o) $(LIBA)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) -o $@ $< $(TEST_COMMON:%.c=$(BUILD)/obj/%.o) $(LIBA) $(LDLIBS) -lcmocka

# ---- test ----------------------------------------------------------------------------------------------
test: deps
	@$(MAKE) --no-print-directory all
	@$(MAKE) --no-print-directory quick-demos
	@$(MAKE) --no-print-directory figcheck
	@$(MAKE) --no-print-directory notebooks-run
	@sh tests/run.sh $(BUILD) $(TESTS)

# ---- figure layout check -------------------------------------------------------------------------------
# tests/figcheck.py reads each PDF's word boxes (pdftotext) and fails when two words of different lines overlap
# or a word leaves the page; its self-test first shows that it can fail. It checks the figures in FIGCHECK_DIR
# (the quick demos of `make test` render there, before this step); `make figcheck FIGCHECK_DIR=build/figures`
# checks those of `make figures`.
FIGCHECK_DIR ?= $(QUICK_DIR)/figures
figcheck: deps
	@sh tests/figcheck_selftest.sh $(BUILD)/figcheck-selftest
	@set -- $(FIGCHECK_DIR)/*.pdf; if [ -e "$$1" ]; then /usr/bin/python3 tests/figcheck.py "$$@"; \
	 else echo "figcheck: no figures in $(FIGCHECK_DIR) yet"; fi

# ---- figures and notebooks -----------------------------------------------------------------------------
# Every demo writes build/data/<demo>*, build/figures/<demo>*.{pdf,png} and notebooks-export/<demo>.ipynb.
# Gamma_n by cubature is shared through build/data/cache (read by every demo that needs the same Gamma_n);
# emptying it first makes each `make figures` compute each Gamma_n once, with the current library.
figures: all
	@mkdir -p $(BUILD)/figures $(BUILD)/data
	@rm -rf $(BUILD)/data/cache
	@set -e; for d in $(DEMO_NAMES); do echo "demo $$d"; $(BUILD)/demos/$$d --build $(BUILD); done

# The quick demos of `make test`: every demo with --quick (small sizes, seconds) into QUICK_DIR/{data,figures}
# and QUICK_DIR/notebooks; the figure layout check (figcheck) reads QUICK_DIR/figures. Each notebook is then
# rebuilt from the data alone (--notebook-only: demos/<demo>.md filled from QUICK_DIR/data/<demo>.values) and must
# come out byte for byte the same.
QUICK_DIR := $(BUILD)/quick
quick-demos: all
	@rm -rf $(QUICK_DIR)
	@set -e; for d in $(DEMO_NAMES); do echo "quick demo $$d"; \
	  $(BUILD)/demos/$$d --quick --build $(BUILD) --out $(QUICK_DIR) >$(BUILD)/quick-$$d.log 2>&1 || \
	  { cat $(BUILD)/quick-$$d.log; exit 1; }; \
	  $(BUILD)/demos/$$d --quick --build $(BUILD) --out $(QUICK_DIR) --notebooks $(QUICK_DIR)/rebuilt \
	    --notebook-only >>$(BUILD)/quick-$$d.log 2>&1 || { cat $(BUILD)/quick-$$d.log; exit 1; }; \
	  cmp $(QUICK_DIR)/notebooks/$$d.ipynb $(QUICK_DIR)/rebuilt/$$d.ipynb; done

# Every exported notebook run top to bottom the way Jupyter runs it (working directory notebooks-export/), its
# demo in quick mode with data and figures in NB_RUN_DIR, the executed copies written there too; fails on any
# cell that raises (the command cells raise on a failed command).
NB_RUN_DIR := $(BUILD)/nb
notebooks-run: all
	@rm -rf $(NB_RUN_DIR) && mkdir -p $(NB_RUN_DIR)
	@DPMLAB_BUILD=$(BUILD) DPMLAB_OUT=$(NB_RUN_DIR) DPMLAB_QUICK=1 jupyter-nbconvert --to notebook --execute \
	  --ExecutePreprocessor.timeout=600 --output-dir $(NB_RUN_DIR) notebooks-export/*.ipynb

notebooks: figures
	@/usr/bin/python3 tests/validate_notebooks.py notebooks-export/*.ipynb

gallery: figures
	@mkdir -p plots/gallery
	@for f in $(GALLERY); do cp $(BUILD)/figures/$$f.png plots/gallery/; done

# The figures copied to plots/gallery/ (shown in the README), one line per module's demos.
GALLERY := ideal_denoiser marginals
GALLERY += analytic_variance analytic_elbo analytic_trajectory analytic_quality analytic_clipping
GALLERY += sampler_score_sde sampler_orders sampler_guidance
GALLERY += optim_tables optim_distance
GALLERY += bridge_benchmark
GALLERY += scorematch_regimes
GALLERY += bridge_gaussian bridge_toy
GALLERY += likelihood_ode likelihood_bound
GALLERY += optim_memorisation
GALLERY += scorematch_objectives scorematch_tv scorematch_linear

run: deps
	@$(MAKE) --no-print-directory notebooks gallery

bench: bench-deps all $(BENCHES)
	@sh tests/bench.sh $(BUILD)

# checkouts of github.com/crowsonkb/k-diffusion and github.com/LuChengTHU/dpm-solver (docs/samplers.md)
crosscheck: bench-deps $(CLI)
	@KDIFFUSION_DIR="$(KDIFFUSION_DIR)" DPM_SOLVER_DIR="$(DPM_SOLVER_DIR)" \
	  /usr/bin/python3 tests/crosscheck_samplers.py --dpmlab $(CLI)

# ---- install -------------------------------------------------------------------------------------------
install: $(LIBA) $(CLI)
	install -d $(DESTDIR)$(PREFIX)/include/dpmlab $(DESTDIR)$(PREFIX)/lib/pkgconfig $(DESTDIR)$(PREFIX)/bin
	install -m 644 $(PUBLIC_HEADERS) $(DESTDIR)$(PREFIX)/include/dpmlab/
	install -m 644 $(LIBA) $(DESTDIR)$(PREFIX)/lib/
	install -m 755 $(CLI) $(DESTDIR)$(PREFIX)/bin/
	sed -e 's|@PREFIX@|$(PREFIX)|g' -e 's|@VERSION@|$(shell sed -n 's/.*DPM_VERSION "\(.*\)"/\1/p' lib/core/dpm_common.h)|g' \
	    -e 's|@LIBS@|$(LDLIBS) -fopenmp|g' lib/dpmlab.pc.in > $(DESTDIR)$(PREFIX)/lib/pkgconfig/dpmlab.pc

uninstall:
	rm -rf $(DESTDIR)$(PREFIX)/include/dpmlab $(DESTDIR)$(PREFIX)/lib/libdpmlab.a \
	       $(DESTDIR)$(PREFIX)/bin/dpmlab $(DESTDIR)$(PREFIX)/lib/pkgconfig/dpmlab.pc

FORMAT_SRC = $(wildcard lib/*.h lib/*/*.[ch] demos/*.c demos/common/*.[ch] tests/*.[ch])
format:
	clang-format -i $(FORMAT_SRC)

# Fails (listing each file and line) when any source differs from .clang-format's layout; CI runs it.
check-format:
	@command -v clang-format >/dev/null || { echo "check-format: clang-format missing; run make deps" >&2; exit 1; }
	@clang-format --dry-run -Werror $(FORMAT_SRC) && echo "check-format: $(words $(FORMAT_SRC)) files formatted"

clean:
	rm -rf build build-san build-*

-include $(LIB_OBJ:.o=.d) $(CLI_OBJ:.o=.d) $(DEMO_OBJ:.o=.d) $(TEST_OBJ:.o=.d)
