# IceGate build. `make` builds the optimised binary build/icegate.
#   make release | debug | asan     the three builds (build/, build/debug/, build/asan/)
#   make unit MODE=asan             unit-test binaries of one build
#   make fuzz                       libFuzzer targets (clang), build/fuzz/
#   make test                       install what is missing, build, run every suite
#   make run                        install what is missing, build, start all roles
#   make B=dir ...                  build under dir/ instead of build/ (parallel work trees)
#   make lint                       banned-call check and clang-format check

MODE ?= release
B ?= build
PKGS := libmicrohttpd libnghttp2 libzstd zlib libxxhash yaml-0.1 sqlite3 libpq libpcre2-8 libcurl
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS := $(shell pkg-config --libs $(PKGS) 2>/dev/null) -lsnappy -lpthread -lm

WARN := -std=c17 -Wall -Wextra -Wshadow -Wstrict-prototypes -Wno-unused-parameter \
        -Wmissing-prototypes -Werror
BASEFLAGS := -D_GNU_SOURCE -Iinclude -Isrc $(PKG_CFLAGS) -MMD -MP -fno-strict-aliasing

ifeq ($(MODE),release)
  CC := gcc
  OUT := $(B)
  MODEFLAGS := -O2 -g -DNDEBUG
else ifeq ($(MODE),debug)
  CC := gcc
  OUT := $(B)/debug
  MODEFLAGS := -O0 -g3 -DIG_DEBUG
else ifeq ($(MODE),asan)
  CC := clang
  OUT := $(B)/asan
  MODEFLAGS := -O1 -g -fsanitize=address,undefined -fno-sanitize-recover=all \
               -fno-omit-frame-pointer -DIG_DEBUG
else ifeq ($(MODE),fuzz)
  CC := clang
  OUT := $(B)/fuzz
  MODEFLAGS := -O1 -g -fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=all \
               -fno-omit-frame-pointer -DIG_DEBUG -DIG_FUZZING
else
  $(error MODE must be release, debug, asan or fuzz)
endif

CFLAGS_ALL := $(WARN) $(BASEFLAGS) $(MODEFLAGS) $(EXTRA_CFLAGS)
OBJDIR := $(OUT)/obj

LIB_SRCS := $(filter-out src/server/main.c,$(shell find src -name '*.c' | sort))
LIB_OBJS := $(LIB_SRCS:%.c=$(OBJDIR)/%.o)
MAIN_OBJ := $(OBJDIR)/src/server/main.o
LIB := $(OUT)/libicegate.a

UNIT_SRCS := $(shell find tests/unit -name '*_test.c' 2>/dev/null | sort)
UNIT_BINS := $(UNIT_SRCS:tests/unit/%.c=$(OUT)/tests/%)
TOOL_SRCS := $(shell find tools -name '*.c' 2>/dev/null | sort)
TOOL_BINS := $(TOOL_SRCS:tools/%.c=$(OUT)/tools/%)
FUZZ_SRCS := $(shell find tests/fuzz -maxdepth 1 -name 'fuzz_*.c' 2>/dev/null | sort)
FUZZ_BINS := $(FUZZ_SRCS:tests/fuzz/%.c=$(B)/fuzz/%)

.PHONY: all release debug asan unit tools fuzz test run setup lint clean bin
all: release

bin: $(OUT)/icegate tools

release:
	@$(MAKE) --no-print-directory MODE=release bin
debug:
	@$(MAKE) --no-print-directory MODE=debug bin
asan:
	@$(MAKE) --no-print-directory MODE=asan bin

$(OUT)/icegate: $(MAIN_OBJ) $(LIB)
	$(CC) $(CFLAGS_ALL) -o $@ $(MAIN_OBJ) $(LIB) $(PKG_LIBS)

$(LIB): $(LIB_OBJS)
	@mkdir -p $(dir $@)
	@rm -f $@
	ar rcs $@ $(LIB_OBJS)

$(OBJDIR)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) -c -o $@ $<

unit: $(UNIT_BINS)
$(OUT)/tests/%: tests/unit/%.c $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) -Wno-missing-prototypes -Itests/unit -o $@ $< $(LIB) $(PKG_LIBS) -lcmocka

tools: $(TOOL_BINS)
$(OUT)/tools/%: tools/%.c $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) -o $@ $< $(LIB) $(PKG_LIBS)

fuzz:
	@$(MAKE) --no-print-directory MODE=fuzz fuzz-bins
.PHONY: fuzz-bins
fuzz-bins: $(FUZZ_BINS)
$(B)/fuzz/fuzz_%: tests/fuzz/fuzz_%.c $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) -fsanitize=fuzzer -o $@ $< $(LIB) $(PKG_LIBS)

setup:
	@scripts/setup.sh

test: setup
	@scripts/test.sh

run: setup
	@$(MAKE) --no-print-directory release
	@mkdir -p data
	./build/icegate run

lint:
	@scripts/lint.sh

clean:
	rm -rf build

-include $(LIB_OBJS:.o=.d) $(MAIN_OBJ:.o=.d)
