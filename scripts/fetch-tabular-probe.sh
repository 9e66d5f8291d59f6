#!/usr/bin/env bash
# Fetches the PROBE group of the tabular comparison (docs/tabular.md, "A third group, run as a new user would"): nineteen more
# public tables of the kinds a new user brings (small and medium, binary, multiclass and regression, numeric, categorical and
# mixed), none of them used to tune `Fff().Train`. Written as NAME.TASK.csv files (the format of the tool's --csv option: header,
# comma-separated, '.' decimals, categorical columns quoted, a `Label` column, incomplete rows dropped) into
#   ${FFF_TABULAR_CACHE:-${FFF_DATA_CACHE:-~/.cache/mlnetfff}/tabular}/probe
# Sources: r-cran-mlbench (Glass, Ionosphere, Sonar, BreastCancer, Servo, DNA), r-cran-aer (CPS1985, DoctorVisits, NMES1988,
# CreditCard, TeachingRatings) and r-cran-modeldata (penguins, hpc_data, cells, Sacramento, stackoverflow, lending_club,
# car_prices, biomass). The .deb files are only downloaded and unpacked, never installed; reading the R data needs Rscript
# (Debian's r-base-core, installed with apt-get if missing).
#
# Usage (as root on Debian 12):  bash scripts/fetch-tabular-probe.sh
# Then:  dotnet run --project tools/FffTabularComparison -c Release -- --csv ~/.cache/mlnetfff/tabular/probe --models train,lightgbm
# Idempotent: a set whose CSV exists with the expected row count is kept; the others are (re)written; exits non-zero on a mismatch.
set -euo pipefail

CACHE="${FFF_TABULAR_CACHE:-${FFF_DATA_CACHE:-$HOME/.cache/mlnetfff}/tabular}/probe"
# name.task:expected data rows (after dropping incomplete rows).
SETS="glass.multiclass:214 ionosphere.binary:351 sonar.binary:208 breastcancer.binary:683 servo.regression:167 dna.multiclass:3186 cps1985.regression:534 doctorvisits.regression:5190 nmes1988.regression:4406 creditcard.binary:1319 teachingratings.regression:463 penguins.multiclass:333 hpc.multiclass:4331 cells.binary:2019 sacramento.regression:932 stackoverflow.binary:5594 lendingclub.binary:9857 carprices.regression:804 biomass.regression:536"

PKGS="r-cran-mlbench r-cran-aer r-cran-modeldata"

# shellcheck source=scripts/tabular-fetch-common.sh
source "$(dirname "${BASH_SOURCE[0]}")/tabular-fetch-common.sh"

RSCRIPT_CODE=$(cat <<'RSCRIPT'
args <- commandArgs(trailingOnly = TRUE)
rlib <- file.path(args[1], "usr/lib/R/site-library"); out <- args[2]
yesno <- function(f, yes) ifelse(f == yes, "true", "false")
put <- function(d, name, task) {
  d <- d[complete.cases(d), , drop = FALSE]
  names(d) <- gsub("[^A-Za-z0-9_]", "_", names(d))
  for (n in names(d)) if (is.factor(d[[n]])) d[[n]] <- as.character(d[[n]])
  for (n in names(d)) if (is.logical(d[[n]])) d[[n]] <- ifelse(d[[n]], "true", "false")
  file <- paste0(name, ".", task, ".csv"); tmp <- file.path(out, paste0(file, ".tmp"))
  write.csv(d, tmp, row.names = FALSE, quote = TRUE, na = "")
  file.rename(tmp, file.path(out, file))
  cat(sprintf("wrote %s: %d rows x %d columns\n", file, nrow(d), ncol(d)))
}
rda <- function(pkg, n) { e <- new.env(); load(file.path(rlib, pkg, "data", paste0(n, ".rda")), envir = e); get(n, e) }
lazy <- function(n) { e <- new.env(); lazyLoad(file.path(rlib, "modeldata", "data", "Rdata"), envir = e); as.data.frame(get(n, e)) }
label <- function(d, column, value) { d$Label <- value; d[[column]] <- NULL; d }
# mlbench Glass (UCI, forensic glass): the glass type (6 classes, as "t1".."t7") from 9 oxide contents; 214 rows.
d <- rda("mlbench", "Glass"); put(label(d, "Type", paste0("t", as.character(d$Type))), "glass", "multiclass")
# mlbench Ionosphere (UCI, Johns Hopkins radar): a good return? 32 numeric pulses (V2 is constant and dropped; V1 as a number).
d <- rda("mlbench", "Ionosphere"); d$V1 <- as.numeric(as.character(d$V1)); d$V2 <- NULL
put(label(d, "Class", yesno(d$Class, "good")), "ionosphere", "binary")
# mlbench Sonar (UCI, Gorman & Sejnowski): a metal cylinder rather than a rock? 60 band energies, 208 rows.
d <- rda("mlbench", "Sonar"); put(label(d, "Class", yesno(d$Class, "M")), "sonar", "binary")
# mlbench BreastCancer (UCI Wisconsin, Wolberg): malignant? 9 cytology scores 1-10 written as numbers (the Id dropped).
d <- rda("mlbench", "BreastCancer"); d$Id <- NULL; for (n in names(d)[1:9]) d[[n]] <- as.numeric(as.character(d[[n]]))
put(label(d, "Class", yesno(d$Class, "malignant")), "breastcancer", "binary")
# mlbench Servo (UCI, Quinlan): a servo's rise time from motor and screw (5 categories each) and two gains; 167 rows.
d <- rda("mlbench", "Servo"); d$Pgain <- as.numeric(as.character(d$Pgain)); d$Vgain <- as.numeric(as.character(d$Vgain))
put(label(d, "Class", d$Class), "servo", "regression")
# mlbench DNA (StatLog, primate splice junctions): the junction class (3) from 180 binary indicators written as "0"/"1" categories.
d <- rda("mlbench", "DNA"); put(label(d, "Class", as.character(d$Class)), "dna", "multiclass")
# AER CPS1985 (Berndt, Current Population Survey 1985): log hourly wage from 10 mixed columns; 534 rows.
d <- rda("AER", "CPS1985"); put(label(d, "wage", log(d$wage)), "cps1985", "regression")
# AER DoctorVisits (Australian Health Survey 1977-78): doctor visits in two weeks (a count) from 11 mixed columns.
d <- rda("AER", "DoctorVisits"); put(label(d, "visits", d$visits), "doctorvisits", "regression")
# AER NMES1988 (US National Medical Expenditure Survey): physician office visits (a count) from 18 mixed columns.
d <- rda("AER", "NMES1988"); put(label(d, "visits", d$visits), "nmes1988", "regression")
# AER CreditCard (Greene): was the credit card application accepted? share and expenditure (known only after it) dropped.
d <- rda("AER", "CreditCard"); d$share <- NULL; d$expenditure <- NULL; put(label(d, "card", yesno(d$card, "yes")), "creditcard", "binary")
# AER TeachingRatings (Hamermesh & Parker): a course's teaching evaluation score from 11 mixed columns; 463 rows.
d <- rda("AER", "TeachingRatings"); put(label(d, "eval", d$eval), "teachingratings", "regression")
# modeldata penguins (Palmer Station, Gorman et al.): the species (3) from island, sex and four measurements.
d <- lazy("penguins"); put(label(d, "species", as.character(d$species)), "penguins", "multiclass")
# modeldata hpc_data (a high-performance computing job log): the job's time class (4) from protocol, counts, hour and day.
d <- lazy("hpc_data"); put(label(d, "class", as.character(d$class)), "hpc", "multiclass")
# modeldata cells (Hill et al. 2007, cell segmentation): poorly segmented? 56 image measurements (the case column dropped).
d <- lazy("cells"); d$case <- NULL; put(label(d, "class", yesno(d$class, "PS")), "cells", "binary")
# modeldata Sacramento (real estate sales, 2008): log10 price from city and zip (many categories), size and location.
d <- lazy("Sacramento"); put(label(d, "price", log10(d$price)), "sacramento", "regression")
# modeldata stackoverflow (developer survey 2017): works remotely? 20 mixed columns.
d <- lazy("stackoverflow"); put(label(d, "Remote", yesno(d$Remote, "Remote")), "stackoverflow", "binary")
# modeldata lending_club (Lending Club loans): a bad loan? 22 mixed columns, 5 % positives.
d <- lazy("lending_club"); put(label(d, "Class", yesno(d$Class, "bad")), "lendingclub", "binary")
# modeldata car_prices (Kuiper 2008, 2005 GM cars): log10 price from mileage and 16 indicator columns.
d <- lazy("car_prices"); put(label(d, "Price", log10(d$Price)), "carprices", "regression")
# modeldata biomass (Ghugare et al. 2014): higher heating value from five element shares (sample and data-set columns dropped).
d <- lazy("biomass"); d$sample <- NULL; d$dataset <- NULL; put(label(d, "HHV", d$HHV), "biomass", "regression")
RSCRIPT
)

fetch_tabular "$CACHE" "$SETS" "$PKGS" "$RSCRIPT_CODE"
