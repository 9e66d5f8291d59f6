#!/usr/bin/env bash
# Regenerates data/digits.csv, data/breast_cancer.csv and data/diabetes.csv
# from the datasets shipped in Debian's python3-sklearn package (BSD-3-Clause).
#
# Usage (as root on Debian 12, from anywhere):  bash scripts/fetch-sklearn-data.sh
#
# Idempotent: re-running overwrites the three CSVs with identical content
# (as long as Debian ships the same package version). See data/README.md.
set -euo pipefail

PKG=python3-sklearn
SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_ROOT="$(cd "$SCRIPT_DIR/.." && pwd)"
OUT_DIR="$REPO_ROOT/data"

for tool in apt-get dpkg-deb python3; do
    command -v "$tool" >/dev/null 2>&1 || { echo "error: '$tool' not found" >&2; exit 1; }
done

WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
# Let the unprivileged _apt user write here (avoids apt's "unsandboxed" warning).
chmod 755 "$WORK"
chown _apt "$WORK" 2>/dev/null || true
cd "$WORK"

# Download the .deb; refresh the package lists only if that fails.
if ! apt-get download "$PKG"; then
    echo "apt-get download failed; running apt-get update and retrying" >&2
    apt-get update
    apt-get download "$PKG"
fi

shopt -s nullglob
debs=("$WORK"/"$PKG"_*.deb)
shopt -u nullglob
if [ "${#debs[@]}" -ne 1 ]; then
    echo "error: expected exactly one ${PKG}_*.deb, found ${#debs[@]}" >&2
    exit 1
fi
DEB="${debs[0]}"
VERSION="$(dpkg-deb -f "$DEB" Version)"
echo "package: $PKG $VERSION ($(basename "$DEB"))"

dpkg-deb -x "$DEB" "$WORK/root"
SRC_DIR="$(find "$WORK/root" -type d -path '*/sklearn/datasets/data' | head -n 1)"
if [ -z "$SRC_DIR" ]; then
    echo "error: sklearn/datasets/data/ not found in $DEB" >&2
    exit 1
fi
echo "source: ${SRC_DIR#"$WORK/root"}"

mkdir -p "$OUT_DIR"

python3 - "$SRC_DIR" "$OUT_DIR" <<'PY'
import gzip
import math
import os
import sys

src, out = sys.argv[1], sys.argv[2]


def fail(msg):
    sys.stderr.write("error: " + msg + "\n")
    sys.exit(1)


def read_lines(name):
    path = os.path.join(src, name)
    opener = gzip.open if name.endswith(".gz") else open
    with opener(path, "rt", encoding="ascii", newline=None) as f:
        return [line.rstrip("\n") for line in f if line.strip()]


def check_float(tok, where):
    try:
        v = float(tok)
    except ValueError:
        fail("%s: not a number: %r" % (where, tok))
    if not math.isfinite(v):
        fail("%s: non-finite value %r" % (where, tok))
    return v


def write_csv(name, header, rows, exp_rows, exp_cols):
    if len(header) != exp_cols:
        fail("%s: header has %d columns, expected %d" % (name, len(header), exp_cols))
    if len(rows) != exp_rows:
        fail("%s: %d rows, expected %d" % (name, len(rows), exp_rows))
    for i, r in enumerate(rows):
        if len(r) != exp_cols:
            fail("%s: row %d has %d columns, expected %d" % (name, i, len(r), exp_cols))
    path = os.path.join(out, name)
    tmp = path + ".tmp"
    with open(tmp, "w", encoding="ascii", newline="\n") as f:
        f.write(",".join(header) + "\n")
        for r in rows:
            f.write(",".join(r) + "\n")
    os.replace(tmp, path)
    print("wrote data/%s: %d rows x %d columns (+ header), %d bytes"
          % (name, len(rows), exp_cols, os.path.getsize(path)))


# ---- digits: 64 integer pixels 0..16, last column the class 0..9 ----------
rows = []
for i, line in enumerate(read_lines("digits.csv.gz")):
    toks = [t.strip() for t in line.split(",")]
    if len(toks) != 65:
        fail("digits.csv.gz line %d: %d fields, expected 65" % (i + 1, len(toks)))
    vals = []
    for t in toks:
        v = check_float(t, "digits.csv.gz line %d" % (i + 1))
        if v != int(v):
            fail("digits.csv.gz line %d: non-integer %r" % (i + 1, t))
        vals.append(int(v))
    if not all(0 <= p <= 16 for p in vals[:64]):
        fail("digits.csv.gz line %d: pixel outside 0..16" % (i + 1))
    if not 0 <= vals[64] <= 9:
        fail("digits.csv.gz line %d: label outside 0..9" % (i + 1))
    rows.append([str(v) for v in vals])
write_csv("digits.csv", ["p%d" % j for j in range(64)] + ["Label"], rows, 1797, 65)

# ---- breast cancer: header "569,30,malignant,benign", 30 features + 0/1 ----
lines = read_lines("breast_cancer.csv")
head = [t.strip() for t in lines[0].split(",")]
if head[:2] != ["569", "30"] or head[2:] != ["malignant", "benign"]:
    fail("breast_cancer.csv: unexpected first line %r" % lines[0])
rows = []
for i, line in enumerate(lines[1:]):
    toks = [t.strip() for t in line.split(",")]
    if len(toks) != 31:
        fail("breast_cancer.csv line %d: %d fields, expected 31" % (i + 2, len(toks)))
    for t in toks[:30]:
        check_float(t, "breast_cancer.csv line %d" % (i + 2))
    if toks[30] not in ("0", "1"):
        fail("breast_cancer.csv line %d: target %r not 0/1" % (i + 2, toks[30]))
    # sklearn: target 0 = malignant, 1 = benign.  Label true <=> benign.
    rows.append(toks[:30] + ["true" if toks[30] == "1" else "false"])
write_csv("breast_cancer.csv", ["f%d" % j for j in range(30)] + ["Label"], rows, 569, 31)

# ---- diabetes: 10 whitespace-separated raw features + separate target file --
feat_file = "diabetes_data_raw.csv.gz"
if not os.path.exists(os.path.join(src, feat_file)):
    feat_file = "diabetes_data.csv.gz"
    sys.stderr.write("warning: diabetes_data_raw.csv.gz missing; using the SCALED "
                     "diabetes_data.csv.gz instead (update data/README.md)\n")
feats = []
for i, line in enumerate(read_lines(feat_file)):
    toks = line.split()
    if len(toks) != 10:
        fail("%s line %d: %d fields, expected 10" % (feat_file, i + 1, len(toks)))
    for t in toks:
        check_float(t, "%s line %d" % (feat_file, i + 1))
    feats.append(toks)
targets = []
for i, line in enumerate(read_lines("diabetes_target.csv.gz")):
    toks = line.split()
    if len(toks) != 1:
        fail("diabetes_target.csv.gz line %d: %d fields, expected 1" % (i + 1, len(toks)))
    # e.g. "1.510000000000000000e+02" -> "151.0" (shortest round-trip repr)
    targets.append(repr(check_float(toks[0], "diabetes_target.csv.gz line %d" % (i + 1))))
if len(feats) != len(targets):
    fail("diabetes: %d feature rows but %d targets" % (len(feats), len(targets)))
rows = [f + [t] for f, t in zip(feats, targets)]
write_csv("diabetes.csv",
          ["age", "sex", "bmi", "bp", "s1", "s2", "s3", "s4", "s5", "s6", "Label"],
          rows, 442, 11)
PY

echo "done ($PKG $VERSION)"
