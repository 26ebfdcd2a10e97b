#!/usr/bin/env bash
# Builds kernels into <out>/<name>.elf with the flags of every committed kernel.
#
#   kernels/build.sh                       every kernels/src/*.c into kernels/elf
#   kernels/build.sh <out>                 every kernels/src/*.c into <out>
#   kernels/build.sh <out> path/to/k.c ... your own kernels (anywhere) into <out>
#
# The output is deterministic: the same sources and the same compiler give the same bytes
# (no build id, no timestamps, no paths, no .comment). The committed ELF files are what the
# runtime and CI use; this script is only needed after changing a kernel or the header, or
# to build a kernel of your own (it includes tt_kernel.h from kernels/include).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
out="${1:-$here/elf}"
shift || true
# Your own sources, made absolute before the script moves into kernels/.
user_sources=()
for src in "$@"; do
    if [ ! -f "$src" ]; then
        echo "error: no such kernel source: $src" >&2
        exit 1
    fi
    user_sources+=("$(cd "$(dirname "$src")" && pwd)/$(basename "$src")")
done
cc="${TT_KERNEL_CC:-riscv64-unknown-elf-gcc}"

if ! command -v "$cc" >/dev/null 2>&1; then
    echo "error: $cc not found." >&2
    echo "The kernels are built with Debian's RISC-V bare-metal cross compiler:" >&2
    echo "    sudo apt-get install gcc-riscv64-unknown-elf" >&2
    echo "(Not needed to build or test the runtime: the built ELFs in kernels/elf are committed.)" >&2
    exit 1
fi

mkdir -p "$out"
out="$(cd "$out" && pwd)"

cflags=(
    -march=rv32im -mabi=ilp32 -mcmodel=medany
    -fno-pic -fno-jump-tables -ffreestanding -nostdlib -nostartfiles -fno-common
    -ffunction-sections -fdata-sections
    -fno-tree-loop-distribute-patterns   # never turn a copy loop into a memcpy call
    -fno-asynchronous-unwind-tables -fno-unwind-tables
    -Os -Wall -Wextra -Werror
    "-ffile-prefix-map=$here=."
    -I include
)
ldflags=(
    -T link.ld -static -Wl,--gc-sections
    -Wl,--no-relax -Wl,--build-id=none
    -Wl,-z,max-page-size=4 -Wl,-z,common-page-size=4
)

# Compile from inside kernels/ with relative paths so no absolute path can reach the output.
cd "$here"
shopt -s nullglob
if [ "${#user_sources[@]}" -gt 0 ]; then
    sources=("${user_sources[@]}")
else
    sources=(src/*.c)
fi
if [ "${#sources[@]}" -eq 0 ]; then
    echo "error: no kernel sources in $here/src" >&2
    exit 1
fi

export LC_ALL=C SOURCE_DATE_EPOCH=0
for src in "${sources[@]}"; do
    name="$(basename "$src" .c)"
    "$cc" "${cflags[@]}" "${ldflags[@]}" -o "$out/$name.elf.tmp" "$src"
    mv "$out/$name.elf.tmp" "$out/$name.elf"
    echo "built $name.elf"
done

# Which compiler made these bytes: the up-to-date test compares bytes only when the
# installed compiler is the same one. Only for the committed kernels.
if [ "${#user_sources[@]}" -gt 0 ]; then
    exit 0
fi
{
    "$cc" --version | head -n 1
    "${cc%gcc}ld" --version 2>/dev/null | head -n 1 || true
} > "$out/TOOLCHAIN"
