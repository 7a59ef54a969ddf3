#!/usr/bin/env bash
# Installs what the `faiss` cargo feature needs to build faiss statically from the source
# vendored in the faiss-sys crate: cmake, a C++17 compiler (with libgomp for OpenMP) and
# BLAS/LAPACK development libraries. Checks first; installs only what is missing.
# Debian/Ubuntu (apt). Usage: scripts/install-faiss-deps.sh
set -euo pipefail

missing=()
command -v cmake >/dev/null 2>&1 || missing+=(cmake)
command -v c++ >/dev/null 2>&1 || missing+=(g++)
have_lib() { # a linkable lib<name>.so (what faiss-sys's `-l<name>` needs)
  ldconfig -p 2>/dev/null | grep -q "lib$1\.so " || ls /usr/lib/*/lib"$1".so /usr/lib/lib"$1".so >/dev/null 2>&1
}
have_lib openblas || missing+=(libopenblas-dev)
have_lib lapack || missing+=(liblapack-dev)
have_lib blas || { [[ " ${missing[*]} " == *" libopenblas-dev "* ]] || missing+=(libopenblas-dev); }

if [ ${#missing[@]} -eq 0 ]; then
  echo "faiss build dependencies present (cmake, c++, BLAS, LAPACK)"
  exit 0
fi
echo "installing faiss build dependencies: ${missing[*]}"
if [ "$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi
$SUDO apt-get update -qq
# The exact line (all four, as on a fresh machine):
#   apt-get install -y cmake g++ libopenblas-dev liblapack-dev
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
echo "installed: ${missing[*]}"
