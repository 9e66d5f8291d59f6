#!/usr/bin/env bash
# Fetches the twenty public tabular data sets of the HELD-OUT group (docs/tabular.md, "Held-out sets"): sets that were never used
# to tune the defaults, to check that `Fff().Train` holds up on data it was not tuned on (issue 17). Written as CSV files
# (header, comma-separated, '.' decimals, categorical columns quoted, a `Label` column, incomplete rows dropped) into
#   ${FFF_TABULAR_CACHE:-${FFF_DATA_CACHE:-~/.cache/mlnetfff}/tabular}/heldout
# Sources: r-cran-mlbench (LetterRecognition, Satellite, Vehicle, PimaIndiansDiabetes, BostonHousing, Soybean), r-cran-kernlab (spam,
# income), r-cran-aer (SwissLabor, HousePrices, PSID7682), r-cran-ggplot2 (diamonds, twice: cut grade and price) and r-cran-modeldata
# (concrete, wa_churn, credit_data, mlc_churn, attrition, ames). The .deb files are only downloaded and unpacked, never installed;
# reading the R data needs Rscript (Debian's r-base-core, installed with apt-get if missing).
#
# Usage (as root on Debian 12):  bash scripts/fetch-tabular-heldout.sh
# Then:  dotnet run --project tools/FffTabularComparison -c Release -- --heldout --models train,lightgbm,dense16,linear --seeds 2
# Idempotent: a set whose CSV exists with the expected row count is kept; the others are (re)written. Every written
# file's data rows are counted against the expected count and the script exits non-zero on any mismatch.
set -euo pipefail

CACHE="${FFF_TABULAR_CACHE:-${FFF_DATA_CACHE:-$HOME/.cache/mlnetfff}/tabular}/heldout"
# name:expected data rows (after dropping incomplete rows). TabularSet.HeldOut (tools/FffTabularComparison) checks these too.
SETS="letter:20000 satellite:6435 vehicle:846 spam:4601 pima:768 income:6876 swisslabor:872 boston:506 houseprices:546 psid7682:4165 soybean:683 diamonds:53940 concrete:1030 wachurn:7032 creditdata:4039 mlcchurn:5000 attrition:1470 ames:2930 shuttle:58000 diamondsprice:53940"

PKGS="r-cran-mlbench r-cran-kernlab r-cran-aer r-cran-ggplot2 r-cran-modeldata"

# shellcheck source=scripts/tabular-fetch-common.sh
source "$(dirname "${BASH_SOURCE[0]}")/tabular-fetch-common.sh"

RSCRIPT_CODE=$(cat <<'RSCRIPT'
args <- commandArgs(trailingOnly = TRUE)
rlib <- file.path(args[1], "usr/lib/R/site-library"); out <- args[2]
yesno <- function(f, yes) ifelse(f == yes, "true", "false")
put <- function(d, name) {
  d <- d[complete.cases(d), , drop = FALSE]
  # Plain column names ("x.box" -> "x_box"): the suite's emitted row classes have one field per column.
  names(d) <- gsub("[^A-Za-z0-9_]", "_", names(d))
  # Factors are written as their level names (the categorical String columns, quoted), numbers in full precision.
  for (n in names(d)) if (is.factor(d[[n]])) d[[n]] <- as.character(d[[n]])
  tmp <- file.path(out, paste0(name, ".csv.tmp"))
  write.csv(d, tmp, row.names = FALSE, quote = TRUE, na = "")
  file.rename(tmp, file.path(out, paste0(name, ".csv")))
  cat(sprintf("wrote %s.csv: %d rows x %d columns\n", name, nrow(d), ncol(d)))
}
# Packages that keep their data lazy-loaded (data/Rdata.rdb) instead of one .rda file per set.
lazy <- function(pkg, n) { e <- new.env(); lazyLoad(file.path(rlib, pkg, "data", "Rdata"), envir = e); as.data.frame(get(n, e)) }
rda <- function(pkg, n) { e <- new.env(); load(file.path(rlib, pkg, "data", paste0(n, ".rda")), envir = e); get(n, e) }
label <- function(d, column, value) { d$Label <- value; d[[column]] <- NULL; d }

# mlbench LetterRecognition (UCI Letter Recognition, Frey & Slate 1991): the capital letter, 26 classes, 16 integer features.
d <- rda("mlbench", "LetterRecognition"); put(label(d, "lettr", as.character(d$lettr)), "letter")
# mlbench Satellite (UCI Statlog Landsat Satellite): soil/crop class of a 3x3 pixel patch, 6 classes, 36 integer features.
d <- rda("mlbench", "Satellite"); put(label(d, "classes", as.character(d$classes)), "satellite")
# mlbench Vehicle (UCI Statlog Vehicle Silhouettes, Turing Institute): bus, opel, saab, van; 18 shape features.
d <- rda("mlbench", "Vehicle"); put(label(d, "Class", as.character(d$Class)), "vehicle")
# kernlab spam (UCI Spambase, Hopkins et al., HP Labs 1999): is the e-mail spam? 57 word/character frequencies.
d <- rda("kernlab", "spam"); put(label(d, "type", yesno(d$type, "spam")), "spam")
# mlbench PimaIndiansDiabetes (UCI, NIDDK): diabetes test positive? 8 numeric features.
d <- rda("mlbench", "PimaIndiansDiabetes"); put(label(d, "diabetes", yesno(d$diabetes, "pos")), "pima")
# kernlab income (Impact Resources 1987 marketing survey, from Hastie, Tibshirani & Friedman's ESL): household income of
# $50,000 or more? The ordered factors (age, education, years in the area, household size, children) are written as their
# level numbers, the other factors as categories: 5 numeric and 8 categorical columns, like an adult-census table.
d <- rda("kernlab", "income")
rich <- yesno(as.integer(d$INCOME) >= 8, TRUE)
for (n in c("AGE", "EDUCATION", "AREA", "HOUSEHOLD.SIZE", "UNDER18")) d[[n]] <- as.integer(d[[n]])
put(label(d, "INCOME", rich), "income")
# AER SwissLabor (Gerfin 1996, Swiss labour market survey): does the woman participate in the labour force?
d <- rda("AER", "SwissLabor"); put(label(d, "participation", yesno(d$participation, "yes")), "swisslabor")
# mlbench BostonHousing (Harrison & Rubinfeld 1978): median home value in $1000s; chas is a categorical 0/1.
d <- rda("mlbench", "BostonHousing"); put(label(d, "medv", d$medv), "boston")
# AER HousePrices (Anglin & Gencay 1996, Windsor, Canada): log sale price; 6 yes/no categorical columns.
d <- rda("AER", "HousePrices"); put(label(d, "price", log(d$price)), "houseprices")
# AER PSID7682 (Cornwell & Rupert 1988, PSID 1976-1982): log wage; the person id is dropped, the year kept as a category.
d <- rda("AER", "PSID7682"); d$id <- NULL; put(label(d, "wage", log(d$wage)), "psid7682")
# mlbench Soybean (UCI Soybean Large, Michalski & Chilausky 1980): the disease, 19 classes, 35 categorical attributes. A missing
# value is kept as an empty (own) category, so all 683 rows stay: dropping incomplete rows would leave 15 classes. Added after the
# first held-out run, as a second set of more than 16 classes for Train's many-class rules.
d <- rda("mlbench", "Soybean")
for (n in names(d)) { v <- as.character(d[[n]]); v[is.na(v)] <- ""; d[[n]] <- v }
put(label(d, "Class", d$Class), "soybean")
# ggplot2 diamonds (53,940 round diamonds): the cut grade (Fair, Good, Very Good, Premium, Ideal) from carat, colour, clarity, price
# and the geometry (depth %, table %, x, y, z). Added 2026-12-07: a 5-class table with categorical columns, uncentred measurements
# (depth 43-79 around 62) and far values (y up to 58.9 around 5.7), where the cut is a narrow band of depth and table.
d <- lazy("ggplot2", "diamonds"); put(label(d, "cut", as.character(d$cut)), "diamonds")
# The second batch (added 2026-12-08): kinds of table a new user brings, from r-cran-modeldata (Kuhn's data for tidymodels) and two
# more from mlbench and ggplot2. Mixed categorical/numeric business tables (churn, credit, attrition), a small smooth regression
# (concrete), a wide housing table (ames, 73 columns), a large imbalanced multiclass set (shuttle) and a large regression (diamonds'
# price from the same columns as the cut set, the cut now an input).
# concrete (Yeh 1998): compressive strength (MPa) from the mix's eight ingredients and its age; 1,030 rows.
d <- lazy("modeldata", "concrete"); put(label(d, "compressive_strength", d$compressive_strength), "concrete")
# wa_churn (IBM Watson telco customer churn): did the customer leave? 19 mixed columns; the 11 rows without total charges dropped.
d <- lazy("modeldata", "wa_churn"); put(label(d, "churn", yesno(d$churn, "Yes")), "wachurn")
# credit_data (Scoring credit data, Universitat Politecnica de Catalunya): is the credit bad? 13 mixed columns, incomplete rows dropped.
d <- lazy("modeldata", "credit_data"); put(label(d, "Status", yesno(d$Status, "bad")), "creditdata")
# mlc_churn (MLC++ telecom churn): did the customer leave? 19 columns, among them the state (51 categories).
d <- lazy("modeldata", "mlc_churn"); put(label(d, "churn", yesno(d$churn, "yes")), "mlcchurn")
# attrition (IBM HR analytics, fictional employees): did the employee leave? 30 mixed columns, 1,470 rows.
d <- lazy("modeldata", "attrition"); put(label(d, "Attrition", yesno(d$Attrition, "Yes")), "attrition")
# ames (De Cock 2011, Ames, Iowa house sales): log10 sale price from 73 columns, most of them categorical.
d <- lazy("modeldata", "ames"); put(label(d, "Sale_Price", log10(d$Sale_Price)), "ames")
# mlbench Shuttle (UCI Statlog Shuttle, NASA): the radiator state, 7 classes of which one holds 79 % of the 58,000 rows; 9 integers.
d <- rda("mlbench", "Shuttle"); put(label(d, "Class", as.character(d$Class)), "shuttle")
# ggplot2 diamonds again: the price in dollars (as a user would set it, not its log) from the other nine columns.
d <- lazy("ggplot2", "diamonds"); put(label(d, "price", d$price), "diamondsprice")
RSCRIPT
)

fetch_tabular "$CACHE" "$SETS" "$PKGS" "$RSCRIPT_CODE"
