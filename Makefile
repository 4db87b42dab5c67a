# dsnflip — build, test, install.
#
#   make              build ./dsnflip
#   make check        every test tier (unit, fixtures, PostgreSQL, Docker)
#   make check SANITIZE=1   the same under AddressSanitizer + UBSan
#   make check VALGRIND=1   the same plus the unit and fixture tiers under
#                     valgrind memcheck (tests/tier-valgrind, ~2 min on 2 CPUs)
#   make valgrind-check     only that valgrind tier
#   make demo         dsnflip plan on examples/fleet
#   make bench        benchmarks (see bench/README.md)
#   make install PREFIX=/usr/local DESTDIR=
#   V=1               show the commands

PREFIX ?= /usr/local
BINDIR ?= $(PREFIX)/bin
DATADIR ?= $(PREFIX)/share/dsnflip
MANDIR ?= $(PREFIX)/share/man
DESTDIR ?=

CC ?= cc
PKG_CONFIG ?= pkg-config
PKGS := yaml-0.1 libpq libgit2 jansson

# Plain `make` only builds; `make deps`, `make demo` and `make check` install
# what is missing first (the README promises those work on a fresh Debian
# machine) and then build in a fresh make, so pkg-config sees the new packages.
ifeq ($(filter deps demo check clean,$(MAKECMDGOALS)),)
ifeq ($(shell $(PKG_CONFIG) --exists $(PKGS) 2>/dev/null && echo ok),)
$(error dsnflip: build dependencies missing ($(PKGS)); run `make deps` (apt-get))
endif
endif

CFLAGS ?= -O2 -g
WARN := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wno-unused-parameter
DEPFLAGS = -MMD -MP
ALL_CFLAGS = -std=c11 -D_GNU_SOURCE -Isrc $(WARN) $(CFLAGS) \
	$(shell $(PKG_CONFIG) --cflags $(PKGS)) \
	-DDSNFLIP_DATADIR='"$(DATADIR)"'
# libpq and libgit2 are opened on first use (src/util/dynlib.h), not linked:
# the binary links libyaml, jansson and libdl, and is told the sonames to
# open (those of the libraries its headers are from).
DYN_PKGS := libpq libgit2
soname = $(shell d=$$($(PKG_CONFIG) --variable=libdir $(1)); \
	{ objdump -p "$$d/$(2).so" 2>/dev/null | awk '$$1 == "SONAME" { print $$2 }'; \
	  readlink "$$d/$(2).so"; } | head -1)
LIBPQ_SONAME := $(call soname,libpq,libpq)
LIBGIT2_SONAME := $(call soname,libgit2,libgit2)
ALL_CFLAGS += -DDSNFLIP_LIBPQ_SONAME='"$(LIBPQ_SONAME)"' -DDSNFLIP_LIBGIT2_SONAME='"$(LIBGIT2_SONAME)"'
LIBS := $(shell $(PKG_CONFIG) --libs $(filter-out $(DYN_PKGS),$(PKGS))) -ldl
TEST_LIBS := $(shell $(PKG_CONFIG) --libs cmocka 2>/dev/null || echo -lcmocka)

ifeq ($(SANITIZE),1)
override SANITIZE := address,undefined
endif
ifneq ($(SANITIZE),)
ALL_CFLAGS += -fsanitize=$(SANITIZE) -fno-omit-frame-pointer -fno-sanitize-recover=all
LDFLAGS += -fsanitize=$(SANITIZE)
BUILD := build/san
else
BUILD := build/default
endif

ifeq ($(V),1)
Q :=
else
Q := @
endif

MAIN_SRC := src/dsnflip.c
LIB_SRC := $(filter-out $(MAIN_SRC),$(wildcard src/*.c src/*/*.c))
LIB_OBJ := $(LIB_SRC:src/%.c=$(BUILD)/src/%.o)
MAIN_OBJ := $(BUILD)/src/dsnflip.o
TEST_SRC := $(wildcard tests/test_*.c)
TEST_BIN := $(TEST_SRC:tests/%.c=$(BUILD)/tests/%)
LIBA := $(BUILD)/libdsnflip.a

.PHONY: dsnflip tests fuzz all check unit-check valgrind-check demo bench install clean deps

all: dsnflip

dsnflip: $(BUILD)/dsnflip
	$(Q)cp $< $@

$(BUILD)/dsnflip: $(MAIN_OBJ) $(LIBA)
	@echo "  LINK  $@"
	$(Q)$(CC) $(ALL_CFLAGS) $(LDFLAGS) -o $@ $^ $(LIBS)

$(LIBA): $(LIB_OBJ)
	@echo "  AR    $@"
	$(Q)rm -f $@ && ar rcs $@ $^

$(BUILD)/src/%.o: src/%.c
	@mkdir -p $(dir $@)
	@echo "  CC    $<"
	$(Q)$(CC) $(ALL_CFLAGS) $(DEPFLAGS) -c -o $@ $<

$(BUILD)/tests/%.o: tests/%.c
	@mkdir -p $(dir $@)
	@echo "  CC    $<"
	$(Q)$(CC) $(ALL_CFLAGS) $(DEPFLAGS) -c -o $@ $<

$(BUILD)/tests/test_%: $(BUILD)/tests/test_%.o $(LIBA)
	@echo "  LINK  $@"
	$(Q)$(CC) $(ALL_CFLAGS) $(LDFLAGS) -o $@ $^ $(LIBS) $(TEST_LIBS)

# Every tier; each prints its own summary and the last line is the total.
check:
	$(Q)./tests/install-deps
	$(Q)$(MAKE) --no-print-directory dsnflip tests
	$(Q)BUILD=$(BUILD) VALGRIND=$(VALGRIND) ./tests/run-all

valgrind-check: dsnflip $(TEST_BIN)
	$(Q)BUILD=$(BUILD) ./tests/run-all valgrind

tests: $(TEST_BIN)

unit-check: $(TEST_BIN)
	$(Q)BUILD=$(BUILD) ./tests/run-all unit

demo:
	$(Q)./tests/install-deps
	$(Q)$(MAKE) --no-print-directory dsnflip
	./dsnflip -C examples/fleet --offline plan; test $$? -ne 2

bench: dsnflip
	$(Q)./bench/run

deps:
	$(Q)./tests/install-deps

install: dsnflip
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(DATADIR)/templates $(DESTDIR)$(MANDIR)/man1
	install -m 0755 dsnflip $(DESTDIR)$(BINDIR)/dsnflip
	install -m 0644 templates/* $(DESTDIR)$(DATADIR)/templates/
	install -m 0644 doc/dsnflip.1 $(DESTDIR)$(MANDIR)/man1/dsnflip.1
	install -d $(DESTDIR)$(PREFIX)/share/bash-completion/completions
	install -m 0644 contrib/dsnflip.bash $(DESTDIR)$(PREFIX)/share/bash-completion/completions/dsnflip

clean:
	rm -rf build dsnflip

-include $(LIB_OBJ:.o=.d) $(MAIN_OBJ:.o=.d) $(TEST_BIN:=.d)

# libFuzzer targets (clang, ASan+UBSan); FUZZ_SECONDS per target.
fuzz:
	$(Q)./fuzz/run
