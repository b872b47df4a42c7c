#!/usr/bin/env bash
# Build kenlm's estimator (lmplz) and build_binary from the kenlm-ex sdist on PyPI.
# Needs only gcc, zlib headers and the `cmake` wheel; no Boost.
# Usage: scripts/build-kenlm-tools.sh [PREFIX]   (binaries land in PREFIX/bin, default .kenlm/bin)
set -euo pipefail
prefix=$(realpath -m "${1:-.kenlm}")
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
python3 -m pip install -q 'cmake>=3.28'
python3 -m pip download -q --no-deps --no-binary kenlm-ex 'kenlm-ex==0.2.1' -d "$work"
tar -xzf "$work"/kenlm_ex-0.2.1.tar.gz -C "$work"
src="$work/kenlm_ex-0.2.1"
# Bug 1: CLI11 already registers -h/--help, so every tool that adds it again dies with
# "h is already added".
grep -rl 'add_flag("-h,--help"' "$src/lm" | xargs sed -i '/add_flag("-h,--help"/d'
# Bug 2: lmplz leaves these two flags uninitialised; garbage `true` in output_q makes
# --prune write positive log-probabilities that build_binary rejects.
sed -i 's/^  bool renumber_vocabulary;/  bool renumber_vocabulary = false;/; s/^  bool output_q;/  bool output_q = false;/' \
  "$src/lm/builder/pipeline.hh"
grep -q 'bool output_q = false;' "$src/lm/builder/pipeline.hh"
cmake_bin=$(python3 -c 'import cmake, os; print(os.path.join(cmake.CMAKE_BIN_DIR, "cmake"))')
"$cmake_bin" -S "$src" -B "$work/build" -DCMAKE_BUILD_TYPE=Release -DKENLM_MAX_ORDER=8 >/dev/null
"$cmake_bin" --build "$work/build" -j"$(nproc)" --target lmplz build_binary query >/dev/null
mkdir -p "$prefix/bin"
cp "$work/build/bin/lmplz" "$work/build/bin/build_binary" "$work/build/bin/query" "$prefix/bin/"
echo "kenlm tools in $prefix/bin"
