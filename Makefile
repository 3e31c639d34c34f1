# chatd — build, run, test.  `make run` and `make test` are the two commands
# a user needs; both install missing Debian packages first (scripts/deps.sh).

PKGS      := libuv jansson libjwt libsodium openssl sqlite3 libpq hiredis rdkafka inih
SANITIZE  ?=
comma     := ,
BUILD     := build$(if $(SANITIZE),-$(subst $(comma),-,$(SANITIZE)))
CC        ?= cc

CFLAGS_BASE := -std=gnu11 -O2 -g -Wall -Wextra -Werror -Wno-unused-parameter \
               -Wshadow -Wstrict-prototypes -Isrc
ifneq ($(SANITIZE),)
CFLAGS_BASE += -fsanitize=$(SANITIZE) -fno-omit-frame-pointer -fno-sanitize-recover=all
LDFLAGS     += -fsanitize=$(SANITIZE)
endif
PKG_CFLAGS = $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   = $(shell pkg-config --libs $(PKGS) 2>/dev/null) -lhttp_parser -lzookeeper_mt -lpthread -lm
CFLAGS     += $(CFLAGS_BASE) $(PKG_CFLAGS) -DTHREADED

# Every .c under src/ is library code, except the server's main and the
# `chat` client (src/cli), which are programs linked against the library.
MAINS     := src/main.c
CLI_SRC   := $(sort $(wildcard src/cli/*.c))
CLI_OBJ   := $(CLI_SRC:%.c=$(BUILD)/%.o)
LIB_SRC   := $(filter-out $(MAINS) $(CLI_SRC),$(shell find src -name '*.c' | sort))
LIB_OBJ   := $(LIB_SRC:%.c=$(BUILD)/%.o)
# Test tiers: tests/unit needs nothing but the library (`make check`);
# tests/engine starts real Redis, ZooKeeper, PostgreSQL or a Kafka mock;
# tests/integration runs the chatd and chat binaries.
UNIT_SRC  := $(sort $(wildcard tests/unit/test_*.c))
UNIT_BIN  := $(UNIT_SRC:tests/unit/%.c=$(BUILD)/tests/unit/%)
ENGINE_SRC := $(sort $(wildcard tests/engine/test_*.c))
ENGINE_BIN := $(ENGINE_SRC:tests/engine/%.c=$(BUILD)/tests/engine/%)
INTEG_SRC := $(sort $(wildcard tests/integration/test_*.c))
INTEG_BIN := $(INTEG_SRC:tests/integration/%.c=$(BUILD)/tests/integration/%)
INTEG_LIB := $(filter-out $(INTEG_SRC),$(wildcard tests/integration/*.c))

# The browser client (web/) is built in: scripts/web-embed.sh turns its files
# into a generated C source in the build dir (bytes, gzip form, ETag hash).
WEB_FILES := $(shell find web -type f ! -name '.*' 2>/dev/null)
WEB_GEN   := $(BUILD)/gen/web_assets.c
WEB_OBJ   := $(BUILD)/gen/web_assets.o

# The load generator (bench/*.c) is a program linked against the library.
BENCH_SRC := $(sort $(wildcard bench/*.c))
BENCH_OBJ := $(BENCH_SRC:%.c=$(BUILD)/%.o)

.PHONY: all deps deps-check deps-test deps-bench run check test unit integration fuzz bench clean format install deb
all: $(BUILD)/chatd $(if $(CLI_SRC),$(BUILD)/chat) $(if $(BENCH_SRC),$(BUILD)/chat-bench) \
     $(BUILD)/kafka_mock

deps:
	@scripts/deps.sh run
deps-check:
	@scripts/deps.sh check
deps-test:
	@scripts/deps.sh test
deps-bench:
	@scripts/deps.sh bench

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -MMD -MP -c $< -o $@

# Depends on the directories too, so adding or removing a file regenerates.
$(WEB_GEN): scripts/web-embed.sh $(WEB_FILES) $(shell find web -type d 2>/dev/null)
	@mkdir -p $(dir $@)
	scripts/web-embed.sh web $@

$(WEB_OBJ): $(WEB_GEN) src/web/assets.h
	$(CC) $(CFLAGS) -c $< -o $@

$(BUILD)/libchatd.a: $(LIB_OBJ) $(WEB_OBJ)
	@rm -f $@
	ar rcs $@ $^

$(BUILD)/chatd: $(BUILD)/src/main.o $(BUILD)/libchatd.a
	$(CC) $(LDFLAGS) -o $@ $^ $(PKG_LIBS)

$(BUILD)/chat: $(CLI_OBJ) $(BUILD)/libchatd.a
	$(CC) $(LDFLAGS) -o $@ $^ $(PKG_LIBS) -ledit

$(BUILD)/chat-bench: $(BENCH_OBJ) $(BUILD)/libchatd.a
	$(CC) $(LDFLAGS) -o $@ $^ $(PKG_LIBS)

# Owns a librdkafka mock cluster for separate chatd processes (scripts/cluster).
$(BUILD)/kafka_mock: tests/tools/kafka_mock.c
	$(CC) $(CFLAGS) -o $@ $< $(LDFLAGS) -lrdkafka

# Test programs depend on every header they include (-MMD: $@.d).
$(BUILD)/tests/unit/%: tests/unit/%.c $(BUILD)/libchatd.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -Itests -DCHATD_FIXTURES=\"$(CURDIR)/tests/fixtures\" -MMD -MP -MF $@.d -o $@ $(filter %.c %.a,$^) $(LDFLAGS) $(PKG_LIBS) -lcmocka

# Unit tests of the `chat` client (tests/unit/test_cli_*.c) link its pure
# modules (no line editor, no sockets) besides the library.
CLI_PURE_OBJ := $(BUILD)/src/cli/fmt.o $(BUILD)/src/cli/msgs.o $(BUILD)/src/cli/complete.o
$(BUILD)/tests/unit/test_cli_%: tests/unit/test_cli_%.c $(CLI_PURE_OBJ) $(BUILD)/libchatd.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -Itests -DCHATD_FIXTURES=\"$(CURDIR)/tests/fixtures\" -MMD -MP -MF $@.d -o $@ $(filter %.c %.o %.a,$^) $(LDFLAGS) $(PKG_LIBS) -lcmocka

$(BUILD)/tests/engine/%: tests/engine/%.c $(BUILD)/libchatd.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -Itests -DCHATD_FIXTURES=\"$(CURDIR)/tests/fixtures\" -MMD -MP -MF $@.d -o $@ $(filter %.c %.a,$^) $(LDFLAGS) $(PKG_LIBS) -lcmocka

$(BUILD)/tests/integration/%: tests/integration/%.c $(INTEG_LIB) $(BUILD)/libchatd.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -Itests -DCHATD_FIXTURES=\"$(CURDIR)/tests/fixtures\" -MMD -MP -MF $@.d -o $@ $(filter %.c %.a,$^) $(LDFLAGS) $(PKG_LIBS) -lcmocka

run: deps
	@$(MAKE) --no-print-directory all
	$(BUILD)/chatd $(ARGS)

unit: $(UNIT_BIN)
integration: all $(INTEG_BIN)

# The fast tier for the edit-compile-test loop: no engine, no server (< 30 s).
# chatd is built for the script tests of the tier (test_config.sh runs it).
check: deps-check
	@$(MAKE) --no-print-directory $(BUILD)/chatd $(UNIT_BIN)
	@CHATD_TEST_TIER=check scripts/run-tests.sh $(BUILD)

test: deps-test
	@$(MAKE) --no-print-directory all $(UNIT_BIN) $(ENGINE_BIN) $(INTEG_BIN)
	@scripts/run-tests.sh $(BUILD)

# libFuzzer targets (clang). FUZZ_SECONDS per target.
FUZZ_SECONDS ?= 60
FUZZ_SRC  := $(sort $(wildcard tests/fuzz/fuzz_*.c))
FUZZ_BIN  := $(FUZZ_SRC:tests/fuzz/%.c=build-fuzz/%)
FUZZ_FLAGS = -std=gnu11 -g -O1 -Isrc -Itests -DTHREADED -fsanitize=fuzzer,address,undefined $(PKG_CFLAGS)
build-fuzz/%: tests/fuzz/%.c $(filter-out $(MAINS),$(LIB_SRC)) $(WEB_GEN)
	@mkdir -p build-fuzz
	clang $(FUZZ_FLAGS) -o $@ $^ $(PKG_LIBS)
# Every target runs from its seeds in tests/fuzz/corpus/NAME (required); a
# target that stops early (a finding, a missing corpus) shows its log's tail
# and fails the run once all have run.
fuzz: deps-test $(FUZZ_BIN)
	@st=0; for f in $(FUZZ_BIN); do n=$$(basename $$f); mkdir -p build-fuzz/corpus-$$n; \
	  echo "== $$n ($(FUZZ_SECONDS)s)"; \
	  if ! $$f -max_total_time=$(FUZZ_SECONDS) -print_final_stats=1 build-fuzz/corpus-$$n \
	      tests/fuzz/corpus/$$n > build-fuzz/$$n.log 2>&1; then \
	    st=1; tail -20 build-fuzz/$$n.log; fi; \
	  grep -E 'stat::number_of_executed_units|stat::average_exec_per_sec' build-fuzz/$$n.log; \
	done; exit $$st

# Benchmarks: chatd against the Node.js + ws baseline; writes docs/BENCHMARKS.md.
bench: deps-bench
	@$(MAKE) --no-print-directory all
	@bench/run.sh $(BUILD)

# Installation (docs/OPERATIONS.md, "Install"). DESTDIR stages it;
# the configuration file is never overwritten.
PREFIX     ?= /usr/local
BINDIR     ?= $(PREFIX)/bin
MANDIR     ?= $(PREFIX)/share/man
DOCDIR     ?= $(PREFIX)/share/doc/chatd
SYSCONFDIR ?= /etc
UNITDIR    ?= $(PREFIX)/lib/systemd/system
VERSION    ?= 0.1.0
install: all
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(MANDIR)/man8 \
	  $(DESTDIR)$(DOCDIR) $(DESTDIR)$(SYSCONFDIR)/chatd $(DESTDIR)$(UNITDIR)
	install -m 0755 $(BUILD)/chatd $(BUILD)/chat $(BUILD)/chat-bench $(DESTDIR)$(BINDIR)/
	install -m 0644 man/chatd.8 $(DESTDIR)$(MANDIR)/man8/chatd.8
	install -m 0644 man/chat.1 $(DESTDIR)$(MANDIR)/man1/chat.1
	install -m 0644 docs/OPERATIONS.md $(DESTDIR)$(DOCDIR)/OPERATIONS.md
	[ -e $(DESTDIR)$(SYSCONFDIR)/chatd/chatd.conf ] || \
	  install -m 0644 etc/chatd.conf $(DESTDIR)$(SYSCONFDIR)/chatd/chatd.conf
	sed 's|@BINDIR@|$(BINDIR)|g' packaging/chatd.service.in > $(DESTDIR)$(UNITDIR)/chatd.service
	chmod 0644 $(DESTDIR)$(UNITDIR)/chatd.service

# A Debian package of the same (PREFIX=/usr) in $(BUILD)/chatd_VERSION_ARCH.deb.
deb: all
	rm -rf $(BUILD)/deb-root
	$(MAKE) --no-print-directory install DESTDIR=$(CURDIR)/$(BUILD)/deb-root PREFIX=/usr \
	  UNITDIR=/lib/systemd/system
	gzip -9n $(BUILD)/deb-root/usr/share/man/man8/chatd.8 $(BUILD)/deb-root/usr/share/man/man1/chat.1
	packaging/mkdeb.sh $(CURDIR)/$(BUILD)/deb-root $(VERSION) $(CURDIR)/$(BUILD)

format:
	clang-format -i $$(find src tests -name '*.[ch]')

clean:
	rm -rf build build-* data-test

-include $(LIB_OBJ:.o=.d) $(CLI_OBJ:.o=.d) $(BENCH_OBJ:.o=.d) $(BUILD)/src/main.d \
         $(UNIT_BIN:=.d) $(ENGINE_BIN:=.d) $(INTEG_BIN:=.d)
