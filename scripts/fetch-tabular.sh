#!/usr/bin/env bash
# Fetches the ten public tabular data sets of the tabular benchmark suite (docs/tabular.md) from Debian packages and writes
# them as CSV files (header, comma-separated, '.' decimals, rows in the source order, incomplete rows dropped) into
#   ${FFF_TABULAR_CACHE:-${FFF_DATA_CACHE:-~/.cache/mlnetfff}/tabular}
# Sources: python3-sklearn (wine), python3-statsmodels (fair, anes96, randhie, star98), r-cran-aer (Fertility, HMDA,
# CPS1988, CPSSW8) and r-cran-cardata (Chile). The .deb files are only downloaded and unpacked, never installed; reading
# the R data needs Rscript (Debian's r-base-core, installed with apt-get if missing).
#
# Usage (as root on Debian 12):  bash scripts/fetch-tabular.sh
# Idempotent: a set whose CSV exists with the expected row count is kept; the others are (re)written. Every written
# file's data rows are counted against the expected count and the script exits non-zero on any mismatch.
set -euo pipefail

CACHE="${FFF_TABULAR_CACHE:-${FFF_DATA_CACHE:-$HOME/.cache/mlnetfff}/tabular}"
# name:expected data rows (after dropping incomplete rows). The C# suite (tools/FffTabularComparison) checks these too.
SETS="fertility:254654 hmda:2380 fair:6366 anes96:944 chile:2431 wine:178 cps1988:28155 cpssw8:61395 randhie:20190 star98:303"

PKGS="python3-sklearn python3-statsmodels r-cran-aer r-cran-cardata"

# shellcheck source=scripts/tabular-fetch-common.sh
source "$(dirname "${BASH_SOURCE[0]}")/tabular-fetch-common.sh"

RSCRIPT_CODE=$(cat <<'RSCRIPT'
args <- commandArgs(trailingOnly = TRUE)
root <- args[1]; out <- args[2]
py <- file.path(root, "usr/lib/python3/dist-packages"); rlib <- file.path(root, "usr/lib/R/site-library")
yesno <- function(f) ifelse(f == "yes", "true", "false")
put <- function(d, name) {
  d <- d[complete.cases(d), , drop = FALSE]
  # Factors are written as their level names (the categorical String columns), numbers in full precision.
  tmp <- file.path(out, paste0(name, ".csv.tmp"))
  write.csv(d, tmp, row.names = FALSE, quote = TRUE, na = "")
  file.rename(tmp, file.path(out, paste0(name, ".csv")))
  cat(sprintf("wrote %s.csv: %d rows x %d columns\n", name, nrow(d), ncol(d)))
}
aer <- function(n) { e <- new.env(); load(file.path(rlib, "AER", "data", paste0(n, ".rda")), envir = e); get(n, e) }

# AER Fertility (Angrist and Evans 1998, 1980 census): did the mother have more than two children?
d <- aer("Fertility"); d$Label <- yesno(d$morekids); d$morekids <- NULL; put(d, "fertility")
# AER HMDA (Boston HMDA, Munnell et al. 1996): was the mortgage application denied?
d <- aer("HMDA"); d$Label <- yesno(d$deny); d$deny <- NULL; put(d, "hmda")
# AER CPS1988 (March 1988 CPS): log weekly wage.
d <- aer("CPS1988"); d$Label <- log(d$wage); d$wage <- NULL; put(d, "cps1988")
# AER CPSSW8 (CPS 1992-2008, Stock and Watson): log average hourly earnings.
d <- aer("CPSSW8"); d$Label <- log(d$earnings); d$earnings <- NULL; put(d, "cpssw8")
# carData Chile (1988 plebiscite survey, FLACSO): intended vote, 4 classes (Y, N, U undecided, A abstain).
e <- new.env(); invisible(lazyLoad(file.path(rlib, "carData", "data", "Rdata"), envir = e))
d <- get("Chile", e); d$Label <- as.character(d$vote); d$vote <- NULL; put(d, "chile")

sm <- file.path(py, "statsmodels", "datasets")
# statsmodels fair (Fair 1978, Redbook survey): any extramarital affairs (affairs > 0)?
d <- read.csv(file.path(sm, "fair", "fair.csv")); d$Label <- ifelse(d$affairs > 0, "true", "false"); d$affairs <- NULL; put(d, "fair")
# statsmodels anes96 (1996 American National Election Study): party identification, 7 classes 0..6.
d <- read.delim(file.path(sm, "anes96", "anes96.csv"), check.names = FALSE)
names(d) <- gsub("'", "", names(d)); d$Label <- paste0("pid", d$PID); d$PID <- NULL; put(d, "anes96")
# statsmodels randhie (RAND Health Insurance Experiment): number of outpatient visits to a medical doctor.
d <- read.csv(file.path(sm, "randhie", "randhie.csv")); d$Label <- d$mdvis; d$mdvis <- NULL; put(d, "randhie")
# statsmodels star98 (California STAR 1998 test scores by district): share of students above the national math median.
d <- read.csv(file.path(sm, "star98", "star98.csv")); d$Label <- d$PR50M / d$MATHTOT; d$PR50M <- NULL; d$MATHTOT <- NULL; put(d, "star98")

# sklearn wine (UCI Wine, Forina et al.): cultivar, 3 classes. First line: "178,13,class_0,class_1,class_2".
d <- read.csv(file.path(py, "sklearn", "datasets", "data", "wine_data.csv"), header = FALSE, skip = 1)
names(d) <- c("alcohol", "malic_acid", "ash", "alcalinity_of_ash", "magnesium", "total_phenols", "flavanoids",
              "nonflavanoid_phenols", "proanthocyanins", "color_intensity", "hue", "od280_od315", "proline", "Label")
d$Label <- paste0("class_", d$Label); put(d, "wine")
RSCRIPT
)

fetch_tabular "$CACHE" "$SETS" "$PKGS" "$RSCRIPT_CODE"
