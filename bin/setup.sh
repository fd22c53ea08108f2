#!/usr/bin/env bash
# Installs what troupe needs from Debian 12's packages (only what is missing, so it
# is cheap to call every time) and configures + builds the Meson project.
# Used by bin/dserver.sh and test/run.sh; safe to run again and again.
#
#   bin/setup.sh [BUILD_DIR [TARGET...]]   default BUILD_DIR: <repo>/build
#
# Builds the programs (apps/), or the TARGETs given (test/run.sh asks for
# meson-test-prereq: every test binary). Ninja's default target would also
# build the benchmarks (Meson's `all` includes them whatever build_by_default
# says): `meson test --benchmark` builds those when they are wanted.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${1:-$root/build}"
shift $(( $# > 0 ? 1 : 0 ))
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(apps/dserver apps/console apps/troupe-import)

packages=(libcaf-dev libboost1.81-dev libboost-json1.81-dev libzstd-dev libpugixml-dev
          doctest-dev librocksdb-dev libssl-dev libedit-dev meson ninja-build pkg-config g++ python3
          iproute2 nftables curl libsqlite3-dev)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}" >&2
  if [ "$(id -u)" -ne 0 ]; then sudo=sudo; else sudo=; fi
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >&2
fi

# A build folder is not relocatable: when a server directory was copied (as the
# tutorial does), the copied build/ still points at the old sources. Start over then.
stamp="$build/.troupe-source"
if [ -d "$build" ] && [ "$(cat "$stamp" 2>/dev/null)" != "$root" ]; then
  rm -rf "$build"
fi
if [ ! -f "$build/build.ninja" ]; then
  meson setup "$build" "$root" --wrap-mode=nodownload >&2
  echo "$root" > "$stamp"
fi
# Each CAF-including translation unit needs ~480 MiB and ~10 s: two jobs at most.
ninja -C "$build" -j 2 "${targets[@]}" >&2
