#!/usr/bin/env bash
# Installs the Debian packages the firmware builds need (host gcc and make; the Cortex-M cross
# compiler and QEMU for the emulated Cortex-M4). As root it installs what is missing with apt;
# otherwise it says what to install and carries on (host-only work still runs).
set -euo pipefail

declare -A package_for=(
  [gcc]=gcc
  [make]=make
  [arm-none-eabi-gcc]=gcc-arm-none-eabi
  [qemu-system-arm]=qemu-system-arm
)
missing=()
for tool in "${!package_for[@]}"; do
  command -v "$tool" >/dev/null 2>&1 || missing+=("${package_for[$tool]}")
done
# newlib has no command of its own: look for its C library.
if command -v arm-none-eabi-gcc >/dev/null 2>&1 && \
   ! [ -f "$(arm-none-eabi-gcc -print-file-name=libc.a)" ]; then
  missing+=(libnewlib-arm-none-eabi)
fi
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "installing Debian packages: ${missing[*]}"
  apt-get update -qq
  # --no-install-recommends: the cross toolchain pulls 3 GB of documentation otherwise.
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
    "${missing[@]}" libnewlib-arm-none-eabi >/dev/null
else
  echo "warning: the firmware builds need these Debian packages, please install them:" >&2
  echo "  sudo apt-get install --no-install-recommends ${missing[*]} libnewlib-arm-none-eabi" >&2
fi
