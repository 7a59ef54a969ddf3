#!/usr/bin/env bash
# Builds and runs the C and C++ examples against the fidex C ABI:
#
#   1. header checks: fidex.h compiles as C99/C11/C17 and C++11/17 with -pedantic -Werror,
#      and refuses C89 with its own message;
#   2. ASan + UBSan: every example linked with the *static* library, run with leak checks;
#   3. valgrind (separately: ASan and valgrind don't mix): every example linked with the
#      *shared* library, zero errors and zero definite/indirect leaks;
#   4. packaging: `make install` into a temporary prefix, then the login example built via
#      pkg-config (shared and static) and via CMake find_package(fidex) (shared and static).
#
# Installs missing tools (valgrind, pkg-config, cmake, a C/C++ compiler) with apt-get.
# Environment: PROFILE=debug|release (default debug: reuses the `cargo test` build),
# CARGO_TARGET_DIR, KEEP_BUILD=1 to keep the build directory.
# Ends with "examples: N passed, M failed"; exits non-zero if anything failed.
set -uo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)

PROFILE=${PROFILE:-debug}
TARGET_DIR=${CARGO_TARGET_DIR:-target}
OUT="$TARGET_DIR/$PROFILE"
[ "$PROFILE" = release ] && PROFILE_FLAG=--release || PROFILE_FLAG=
case "$OUT" in /*) ;; *) OUT="$ROOT/$OUT" ;; esac

# ---- tools ------------------------------------------------------------------------------
missing=()
command -v cc >/dev/null 2>&1 || missing+=(gcc)
command -v c++ >/dev/null 2>&1 || missing+=(g++)
command -v make >/dev/null 2>&1 || missing+=(make)
command -v valgrind >/dev/null 2>&1 || missing+=(valgrind)
command -v pkg-config >/dev/null 2>&1 || missing+=(pkg-config)
command -v cmake >/dev/null 2>&1 || missing+=(cmake)
if [ ${#missing[@]} -gt 0 ]; then
    echo "examples: installing ${missing[*]}"
    if command -v apt-get >/dev/null 2>&1; then
        SUDO=; [ "$(id -u)" -ne 0 ] && SUDO=sudo
        $SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
    fi
    for t in cc c++ make valgrind pkg-config cmake; do
        command -v "$t" >/dev/null 2>&1 || { echo "examples: $t is required and could not be installed"; exit 1; }
    done
fi

BUILD=$(mktemp -d "${TMPDIR:-/tmp}/fidex-examples-XXXXXX")
cleanup() { [ "${KEEP_BUILD:-0}" = 1 ] && echo "build kept in $BUILD" || rm -rf "$BUILD"; }
trap cleanup EXIT

passed=0
failed=0
failures=()
# step NAME COMMAND...: runs a step, logs its output, counts it.
step() {
    local name=$1; shift
    local log="$BUILD/log.$(echo "$name" | tr -c 'A-Za-z0-9_.-' _)"
    if "$@" >"$log" 2>&1; then
        passed=$((passed + 1))
        echo "ok    $name"
    else
        failed=$((failed + 1))
        failures+=("$name")
        echo "FAIL  $name"
        sed 's/^/      | /' "$log" | tail -n 60
    fi
}

# ---- the Rust libraries -------------------------------------------------------------------
echo "examples: building libfidex ($PROFILE)"
if ! cargo build --lib $PROFILE_FLAG --quiet; then
    echo "examples: cargo build failed"
    echo "examples: 0 passed, 1 failed"
    exit 1
fi
NATIVE_LIBS="-lgcc_s -lutil -lrt -lpthread -lm -ldl -lc"

CWARN=(-std=c99 -Wall -Wextra -Werror -pedantic -g)
CFLAGS=("${CWARN[@]}" -I"$ROOT/include")
CXXFLAGS=(-std=c++17 -Wall -Wextra -Werror -pedantic -g -I"$ROOT/include")
SAN=(-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all)
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=0:halt_on_error=1:strict_string_checks=1:detect_stack_use_after_return=1
export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
VALGRIND=(valgrind -q --error-exitcode=1 --leak-check=full --errors-for-leak-kinds=definite,indirect
          --show-leak-kinds=definite,indirect --track-origins=yes)

# ---- 1. header ----------------------------------------------------------------------------
printf '#include "fidex.h"\nint main(void) { return fidex_version() == 0; }\n' >"$BUILD/h.c"
printf '#include "fidex.hpp"\nint main() { return fidex::version().empty(); }\n' >"$BUILD/h.cpp"
for std in c99 c11 c17; do
    step "header compiles as $std" cc -std=$std -Wall -Wextra -Werror -pedantic -I"$ROOT/include" -fsyntax-only "$BUILD/h.c"
done
for std in c++11 c++17; do
    step "fidex.h compiles as $std" c++ -std=$std -Wall -Wextra -Werror -pedantic -I"$ROOT/include" -x c++ -fsyntax-only "$BUILD/h.c"
done
step "fidex.hpp compiles as c++17" c++ -std=c++17 -Wall -Wextra -Werror -pedantic -I"$ROOT/include" -fsyntax-only "$BUILD/h.cpp"
c89_refused() {
    ! cc -std=c89 -pedantic -I"$ROOT/include" -fsyntax-only "$BUILD/h.c" >"$BUILD/c89.txt" 2>&1 &&
        grep -q "requires C99 or later" "$BUILD/c89.txt"
}
step "header refuses c89 with its own message" c89_refused

# ---- 2. ASan + UBSan, static library ------------------------------------------------------
build_c_static_san() { cc "${CFLAGS[@]}" "${SAN[@]}" -pthread "$1" "$OUT/libfidex.a" $NATIVE_LIBS -o "$2"; }
build_cpp_static_san() { c++ "${CXXFLAGS[@]}" "${SAN[@]}" -pthread "$1" "$OUT/libfidex.a" $NATIVE_LIBS -o "$2"; }
step "login.c: build (static, ASan+UBSan)" build_c_static_san examples/c/login.c "$BUILD/login_san"
step "threads.c: build (static, ASan+UBSan)" build_c_static_san examples/c/threads.c "$BUILD/threads_san"
step "fork.c: build (static, ASan+UBSan)" build_c_static_san examples/c/fork.c "$BUILD/fork_san"
step "login.cpp: build (static, ASan+UBSan)" build_cpp_static_san examples/cpp/login.cpp "$BUILD/login_cpp_san"
for ex in login threads fork login_cpp; do
    [ -x "$BUILD/${ex}_san" ] && step "$ex: run under ASan+UBSan" "$BUILD/${ex}_san"
done

# ---- 3. valgrind, shared library ----------------------------------------------------------
build_c_shared() { cc "${CFLAGS[@]}" -pthread "$1" -L"$OUT" -lfidex -Wl,-rpath,"$OUT" -lm -o "$2"; }
build_cpp_shared() { c++ "${CXXFLAGS[@]}" -pthread "$1" -L"$OUT" -lfidex -Wl,-rpath,"$OUT" -o "$2"; }
step "login.c: build (shared)" build_c_shared examples/c/login.c "$BUILD/login_vg"
step "threads.c: build (shared)" build_c_shared examples/c/threads.c "$BUILD/threads_vg"
step "fork.c: build (shared)" build_c_shared examples/c/fork.c "$BUILD/fork_vg"
step "login.cpp: build (shared)" build_cpp_shared examples/cpp/login.cpp "$BUILD/login_cpp_vg"
for ex in login threads login_cpp; do
    [ -x "$BUILD/${ex}_vg" ] && step "$ex: run under valgrind" "${VALGRIND[@]}" "$BUILD/${ex}_vg"
done
# fork.c under valgrind checks memory errors only: a forked child of a multithreaded
# process inherits blocks that only the parent's other threads (absent in the child) refer
# to, so every such child "leaks" by valgrind's count, and valgrind cannot leak-check the
# parent alone. Leaks of fork.c are checked by the ASan+UBSan run above (LeakSanitizer runs
# in the parent; the child leaves with _exit).
[ -x "$BUILD/fork_vg" ] && step "fork: run under valgrind (memory errors)" valgrind -q --error-exitcode=1 \
    --leak-check=no --track-origins=yes "$BUILD/fork_vg"

# ---- 4. install, pkg-config, CMake --------------------------------------------------------
PREFIX="$BUILD/prefix"
step "make install PREFIX=<tmp>" make --no-print-directory install PREFIX="$PREFIX" PROFILE="$PROFILE"
installed_lib() {
    # SONAME, versioned symbols (FIDEX_0.x), nothing but the C ABI exported, no debug info.
    local so="$PREFIX/lib/libfidex.so" soname
    soname=$(readelf -d "$so" | sed -n 's/.*Library soname: \[\(.*\)\].*/\1/p')
    [ -n "$soname" ] && [ -L "$PREFIX/lib/$soname" ] || { echo "no SONAME link ($soname)"; return 1; }
    # Outputs are captured before grep: `producer | grep -q` under pipefail fails when grep
    # exits at its first match and the producer dies of SIGPIPE.
    local dyn sections
    dyn=$(objdump -T "$so")
    sections=$(readelf -S "$so" "$PREFIX/lib/libfidex.a" 2>/dev/null || true)
    grep -q 'FIDEX_0\.[0-9]* *fidex_vault_open$' <<<"$dyn" || { echo "fidex_vault_open is not versioned"; return 1; }
    [ -z "$(awk '$2 == "g" && $NF !~ /^(fidex_|FIDEX_)/' <<<"$dyn")" ] || { echo "foreign exports"; return 1; }
    ! grep -q '\.debug_info' <<<"$sections" || { echo "debug info left"; return 1; }
    echo "installed $soname: versioned, C ABI only, stripped"
}
step "installed library: SONAME, symbol versions, exports, stripped" installed_lib
export PKG_CONFIG_PATH="$PREFIX/lib/pkgconfig"
pc_shared() {
    # shellcheck disable=SC2046
    cc "${CWARN[@]}" $(pkg-config --cflags fidex) examples/c/login.c $(pkg-config --libs fidex) \
        -lm -Wl,-rpath,"$(pkg-config --variable=libdir fidex)" -o "$BUILD/login_pc" &&
        [ "$(pkg-config --modversion fidex)" = "$(sed -n 's/^version *= *"\([^"]*\)".*/\1/p' Cargo.toml | head -n 1)" ] &&
        "$BUILD/login_pc"
}
pc_static() {
    # -Wl,-Bstatic makes -lfidex pick libfidex.a; Libs.private brings the system libraries.
    # shellcheck disable=SC2046
    cc "${CWARN[@]}" $(pkg-config --cflags fidex) examples/c/login.c \
        $(pkg-config --static --libs fidex | sed 's/-lfidex/-Wl,-Bstatic -lfidex -Wl,-Bdynamic/') -o "$BUILD/login_pc_static" &&
        ! grep -q 'libfidex' <<<"$(readelf -d "$BUILD/login_pc_static")" &&
        "$BUILD/login_pc_static"
}
cmake_build() {
    local kind=$1 dir="$BUILD/cmake-$1"
    cmake -S examples/cmake -B "$dir" -DCMAKE_PREFIX_PATH="$PREFIX" -DFIDEX_STATIC="$([ "$kind" = static ] && echo ON || echo OFF)" &&
        cmake --build "$dir" -j 2 &&
        "$dir/login_c" && "$dir/login_cpp"
}
if [ -f "$PREFIX/lib/pkgconfig/fidex.pc" ]; then
    step "pkg-config: login.c against the installed shared library" pc_shared
    step "pkg-config --static: login.c against the installed static library" pc_static
    step "CMake find_package(fidex): fidex::fidex (shared)" cmake_build shared
    step "CMake find_package(fidex): fidex::fidex_static" cmake_build static
fi

echo
if [ $failed -gt 0 ]; then
    printf 'failed: %s\n' "${failures[@]}"
fi
echo "examples: $passed passed, $failed failed"
[ $failed -eq 0 ]
