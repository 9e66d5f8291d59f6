#!/usr/bin/env bash
# Shared by scripts/fetch-tabular.sh and scripts/fetch-tabular-heldout.sh (source it; it does nothing by itself):
#   fetch_tabular CACHE SETS PACKAGES RSCRIPT
# SETS is "name:expected-data-rows ...". When a set's CACHE/name.csv is missing or has another row count, the Debian PACKAGES
# are downloaded and unpacked (never installed) into a temporary ROOT, r-base-core is installed with apt-get if Rscript is
# missing, and the R code RSCRIPT runs as `Rscript --vanilla - ROOT CACHE` to write the CSV files. Then every set's data rows
# are counted against the expected count; returns non-zero on any mismatch.

rows_of() { [ -f "$1" ] && echo $(( $(wc -l < "$1") - 1 )) || echo -1; }

fetch_tabular() {
    local cache="$1" sets="$2" packages="$3" rscript="$4"
    local entry name want got missing=0 status=0
    mkdir -p "$cache"
    for entry in $sets; do
        name="${entry%%:*}"; want="${entry##*:}"
        [ "$(rows_of "$cache/$name.csv")" = "$want" ] || missing=1
    done
    if [ "$missing" = 0 ]; then
        echo "all sets present in $cache"
    else
        if ! command -v Rscript >/dev/null 2>&1; then
            echo "installing r-base-core (Rscript) to read the R data packages" >&2
            apt-get update
            DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends r-base-core
        fi
        FETCH_TABULAR_WORK="$(mktemp -d)"
        trap 'rm -rf "$FETCH_TABULAR_WORK"' EXIT
        # Let the unprivileged _apt user write here (avoids apt's "unsandboxed" warning).
        chmod 755 "$FETCH_TABULAR_WORK"; chown _apt "$FETCH_TABULAR_WORK" 2>/dev/null || true
        (
            cd "$FETCH_TABULAR_WORK"
            # shellcheck disable=SC2086 # the package list is split on purpose
            if ! apt-get download $packages; then
                echo "apt-get download failed; running apt-get update and retrying" >&2
                apt-get update
                apt-get download $packages
            fi
            mkdir root
            for deb in ./*.deb; do
                echo "package: $(dpkg-deb -f "$deb" Package) $(dpkg-deb -f "$deb" Version)"
                dpkg-deb -x "$deb" root
            done
        )
        Rscript --vanilla - "$FETCH_TABULAR_WORK/root" "$cache" <<< "$rscript"
    fi
    for entry in $sets; do
        name="${entry%%:*}"; want="${entry##*:}"
        got="$(rows_of "$cache/$name.csv")"
        if [ "$got" = "$want" ]; then
            printf '  %-12s %7d rows  %s\n' "$name" "$got" "$cache/$name.csv"
        else
            echo "error: $cache/$name.csv has $got data rows, expected $want" >&2
            status=1
        fi
    done
    [ "$status" = 0 ] && echo "tabular data in $cache"
    return "$status"
}
