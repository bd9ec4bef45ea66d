# SPDX-License-Identifier: Apache-2.0
# Containarium build.  One non-recursive Makefile; each directory adds its
# own targets in its Makefile.inc.  Everything builds into $(BUILD)/.
#
#   make                 build everything
#   make check           build, then run every test (unit, sanitizers, NSS
#                        through glibc, sshd end to end); needs root for the
#                        namespace tests and the packages of tests/install-deps
#   make bench           benchmarks (bench/README.md)
#   make fuzz            run each fuzz target briefly (FUZZ_SECONDS=20)
#   make install         DESTDIR, PREFIX, LIBDIR, ... as usual
#   make SANITIZE=1      ASan + UBSan build (into build/asan by default)

PREFIX ?= /usr/local
MULTIARCH := $(shell $(CC) -print-multiarch 2>/dev/null || gcc -print-multiarch)
BINDIR ?= $(PREFIX)/bin
SBINDIR ?= $(PREFIX)/sbin
LIBEXECDIR ?= $(PREFIX)/libexec
LIBDIR ?= $(PREFIX)/lib/$(MULTIARCH)
MANDIR ?= $(PREFIX)/share/man
DESTDIR ?=
INSTALL ?= install

ifeq ($(SANITIZE),1)
BUILD ?= build/asan
SAN_FLAGS := -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
else
BUILD ?= build
SAN_FLAGS :=
endif
# An absolute BUILD inside this tree (tests/run exports one, and tests run
# `make install` with it) names the same files as the relative one: make it
# relative, or objects built under it get .d files whose targets a plain
# `make` never matches, and a changed header no longer rebuilds them.
override BUILD := $(patsubst $(CURDIR)/%,%,$(BUILD))

# The version: debian/changelog's first line is its one source (epoch and
# Debian revision dropped).  $(VERSION_H) defines CONTAINARIUM_VERSION for
# every program's --version; rewritten only when the version changes.
VERSION := $(shell awk 'NR == 1 { v = $$2; gsub(/[()]/, "", v); sub(/^[0-9]+:/, "", v); \
	sub(/-[^-]*$$/, "", v); print v; exit }' debian/changelog 2>/dev/null)
ifeq ($(VERSION),)
$(error cannot read the version from debian/changelog's first line ("containarium (VERSION) ...");\
 build from a checkout or an archive that has debian/)
endif
VERSION_H := $(BUILD)/gen/containarium_version.h

PKG_CONFIG ?= pkg-config
WARNINGS := -Wall -Wextra -Werror -Wshadow -Wformat=2 -Wvla -Wstrict-prototypes \
	-Wmissing-prototypes -Wpointer-arith -Wcast-align
# DWARF 4: valgrind 3.19 (Debian 12) cannot read clang 14's default DWARF 5.
CFLAGS ?= -O2 -g -gdwarf-4
ALL_CFLAGS := -std=gnu11 $(WARNINGS) $(CFLAGS) -fPIC -fstack-protector-strong \
	-D_FORTIFY_SOURCE=2 -D_GNU_SOURCE -fvisibility=hidden -Icommon -I$(BUILD)/gen $(SAN_FLAGS)
ALL_LDFLAGS := $(LDFLAGS) -Wl,-z,relro,-z,now -Wl,--as-needed $(SAN_FLAGS)

JSONC_CFLAGS = $(shell $(PKG_CONFIG) --cflags json-c)
JSONC_LIBS = $(shell $(PKG_CONFIG) --libs json-c)
CHECK_CFLAGS = $(shell $(PKG_CONFIG) --cflags check)
CHECK_LIBS = $(shell $(PKG_CONFIG) --libs check)

# Keep intermediate objects: no "rm ..." lines after the test summary.
.SECONDARY:

.PHONY: all check check-unit check-asan check-root bench fuzz install clean version
all:

version:
	@echo $(VERSION)

$(VERSION_H): debian/changelog
	@mkdir -p $(@D)
	@printf '#define CONTAINARIUM_VERSION "%s"\n' '$(VERSION)' >$@.tmp
	@if cmp -s $@.tmp $@; then rm -f $@.tmp; else mv -f $@.tmp $@; fi

$(BUILD)/%.o: %.c | $(VERSION_H)
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(ALL_CFLAGS) $(EXTRA_CFLAGS_$(<D)) -MMD -MP -c -o $@ $<

include common/Makefile.inc
include nss_containarium/Makefile.inc
include authorized_keys/Makefile.inc
include mksnapshot/Makefile.inc
include helperd/Makefile.inc
include cli/Makefile.inc
include pam_containarium/Makefile.inc
include host_setup/Makefile.inc
-include tests/Makefile.inc
-include fuzz/Makefile.inc
-include bench/Makefile.inc

clean:
	rm -rf build

# The C style (.clang-format): rewrite every tracked source, or check that
# none would change (CI runs the check as tests/style/test_format.sh).
.PHONY: format format-check
format:
	git ls-files '*.c' '*.h' | xargs clang-format --style=file -i
format-check:
	tests/style/test_format.sh

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
