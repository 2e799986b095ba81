#!/usr/bin/env bash
# onnxruntime.sh — fetch libonnxruntime for github.com/yalue/onnxruntime_go and
# print the absolute path of the shared library on stdout (nothing else goes to
# stdout, so callers can write: export SPINECAST_ONNXRUNTIME_LIB=$(scripts/onnxruntime.sh)).
#
# The library comes from the npm package onnxruntime-node, which ships
# bin/napi-v6/linux/x64/libonnxruntime.so.1 (CPU build; the CUDA execution
# provider is not in it). onnxruntime_go v1.27.0 is built against
# ORT_API_VERSION 24, so the library must be >= 1.24.
#
# The package is fetched with `npm pack` (a tarball download only): never
# `npm install`, whose postinstall script tries a download that cannot succeed
# here. The result is cached under .cache/onnxruntime/<version>/ in the
# repository (gitignored); once cached the script is offline and idempotent.
#
# Environment:
#   ONNXRUNTIME_NODE_VERSION  npm version to fetch (default 1.24.1)
#   SPINECAST_ONNXRUNTIME_CACHE  cache directory (default <repo>/.cache/onnxruntime)
# Exit status: 0 with the path printed; 1 with a message on stderr when the
# library cannot be obtained (no npm, registry unreachable, unsupported platform).
set -euo pipefail

version="${ONNXRUNTIME_NODE_VERSION:-1.24.1}"
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cache="${SPINECAST_ONNXRUNTIME_CACHE:-$repo/.cache/onnxruntime}"
dir="$cache/$version"
lib="$dir/libonnxruntime.so.1"

if [ -s "$lib" ]; then
  echo "$lib"
  exit 0
fi

case "$(uname -s)/$(uname -m)" in
  Linux/x86_64) member="package/bin/napi-v6/linux/x64/libonnxruntime.so.1" ;;
  Linux/aarch64) member="package/bin/napi-v6/linux/arm64/libonnxruntime.so.1" ;;
  *) echo "onnxruntime.sh: unsupported platform $(uname -s)/$(uname -m)" >&2; exit 1 ;;
esac

if ! command -v npm >/dev/null 2>&1; then
  echo "onnxruntime.sh: npm not found; install it (apt-get install npm) to fetch onnxruntime-node@$version" >&2
  exit 1
fi

mkdir -p "$dir"
tmp="$(mktemp -d "$cache/.fetch.XXXXXX")"
trap 'rm -rf "$tmp"' EXIT

if ! (cd "$tmp" && npm pack --silent "onnxruntime-node@$version" >pack.out 2>pack.err); then
  echo "onnxruntime.sh: npm pack onnxruntime-node@$version failed:" >&2
  cat "$tmp/pack.err" >&2 || true
  exit 1
fi
tarball="$tmp/$(tail -n 1 "$tmp/pack.out")"
if [ ! -f "$tarball" ]; then
  echo "onnxruntime.sh: npm pack produced no tarball" >&2
  exit 1
fi
if ! tar -xzf "$tarball" -C "$tmp" "$member"; then
  echo "onnxruntime.sh: $member not found in onnxruntime-node@$version" >&2
  exit 1
fi
# Atomic rename, so a concurrent or interrupted run never leaves a partial file.
mv -f "$tmp/$member" "$lib.partial.$$"
mv -f "$lib.partial.$$" "$lib"
echo "$lib"
