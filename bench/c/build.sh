#!/bin/sh
# Builds bench/c/forward_timing from csrc/ with the flags of CMakeLists.txt
# (each SIMD path compiled once, chosen at run time as in the module).
# Usage: bench/c/build.sh [output path]
set -e
root=$(cd "$(dirname "$0")/../.." && pwd)
out=${1:-$root/bench/c/forward_timing}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cc=${CC:-cc}
flags="-O3 -ffp-contract=fast -fno-math-errno -fopenmp -pthread -I$root/csrc -I$root/csrc/include"
$cc $flags -std=gnu99 -DFNN_ISA=generic -c "$root/csrc/gemm_isa.c" -o "$tmp/generic.o"
paths="-DFNN_HAVE_GENERIC"
objs="$tmp/generic.o"
case $(uname -m) in
x86_64|amd64)
    $cc $flags -std=gnu99 -DFNN_ISA=avx2 -mavx2 -mfma -mprfchw -c "$root/csrc/gemm_isa.c" -o "$tmp/avx2.o"
    $cc $flags -std=gnu99 -DFNN_ISA=avx512 -mavx512f -mavx512vl -mavx512dq -mavx512bw -mavx2 -mfma -mprfchw \
        -c "$root/csrc/gemm_isa.c" -o "$tmp/avx512.o"
    paths="$paths -DFNN_HAVE_AVX2 -DFNN_HAVE_AVX512"
    objs="$objs $tmp/avx2.o $tmp/avx512.o" ;;
esac
# shellcheck disable=SC2086
$cc $flags -std=gnu11 $paths \
    "$root/csrc/runtime.c" "$root/csrc/ops.c" "$root/csrc/threads.c" "$root/csrc/api.c" "$root/csrc/cpu.c" \
    $objs "$root/bench/c/forward_timing.c" -lm -o "$out"
echo "built $out"
