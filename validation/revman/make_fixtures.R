# The numbers of metabridge's own RevMan fixtures (metabridge_examples.*), computed with
# metafor following RevMan 5's methods (Deeks & Higgins 2010, "Statistical algorithms in
# Review Manager 5"). NOT RevMan's numbers. Called by make_fixtures.py, which writes the
# three file formats:
#
#   Rscript validation/revman/make_fixtures.R OUTDIR
#
# writes OUTDIR/studies.csv (one row per study and analysis: the entered data, with
# provenance) and OUTDIR/results.csv (one row per stored number), 17 significant digits.

suppressPackageStartupMessages({library(metafor); library(metadat)})
out <- commandArgs(trailingOnly = TRUE)[1]
g17 <- function(x) sprintf("%.17g", x)

# RevMan 5's chi-square P value (see src/metabridge/revman/statistics.py for how it was
# identified): 1 - lower regularised incomplete gamma by its power series, stopped at
# the first term below 1e-6 of the partial sum. Written here from the formula, so the
# fixtures do not come from the Python code they test.
revman5_chi2_p <- function(q, df) {
  if (df < 1) return(NA_real_)
  if (q <= 0) return(1)
  a <- df / 2; x <- q / 2
  term <- 1 / a; total <- term; n <- 0
  while (abs(term) >= abs(total) * 1e-6) {
    n <- n + 1; term <- term * x / (a + n); total <- total + term
  }
  1 - total * exp(-x + a * log(x) - lgamma(a))
}

studies <- list(); results <- list()
add_result <- function(analysis, scope, item, quantity, value, rule = "") {
  results[[length(results) + 1]] <<- data.frame(
    analysis = analysis, scope = scope, item = item, quantity = quantity,
    value = g17(value), rule = rule)
}

# One pooled fit the RevMan way: FE (inverse variance) or DL; CI at `level`.
fit <- function(yi, vi, random, level) {
  method <- if (random && length(yi) > 1) "DL" else "FE"
  rma(yi, vi, method = method, level = level * 100)
}

add_pooled <- function(analysis, scope, item, f, log_scale) {
  scale <- if (log_scale) exp else identity
  add_result(analysis, scope, item, "effect", scale(f$b[1]))
  add_result(analysis, scope, item, "ci_low", scale(f$ci.lb))
  add_result(analysis, scope, item, "ci_high", scale(f$ci.ub))
  add_result(analysis, scope, item, "z", abs(f$zval))
  add_result(analysis, scope, item, "p", f$pval)
  add_result(analysis, scope, item, "df", f$k - 1)
  if (f$k > 1) {
    add_result(analysis, scope, item, "chi2", f$QE)
    add_result(analysis, scope, item, "chi2_p", f$QEp, "exact")
    add_result(analysis, scope, item, "chi2_p", revman5_chi2_p(f$QE, f$k - 1), "revman5")
    add_result(analysis, scope, item, "i2", max(0, (f$QE - (f$k - 1)) / f$QE) * 100)
  }
  if (f$method == "DL") add_result(analysis, scope, item, "tau2", f$tau2)
}

# analysis: id; d: data frame with label, year, subgroup, provenance and the inputs;
# yi/vi on the analysis scale; settings as RevMan's.
analyse <- function(id, d, yi, vi, random, study_level, total_level, log_scale) {
  d$analysis <- id
  studies[[length(studies) + 1]] <<- d
  ok <- is.finite(yi) & is.finite(vi) & vi > 0
  overall <- fit(yi[ok], vi[ok], random, total_level)
  add_pooled(id, "overall", "", overall, log_scale)
  scale <- if (log_scale) exp else identity
  zs <- qnorm(1 - (1 - study_level) / 2)
  w <- weights(overall)
  for (i in which(ok)) {
    j <- sum(ok[seq_len(i)])
    add_result(id, "study", d$label[i], "effect", scale(yi[i]))
    add_result(id, "study", d$label[i], "se", sqrt(vi[i]))
    add_result(id, "study", d$label[i], "ci_low", scale(yi[i] - zs * sqrt(vi[i])))
    add_result(id, "study", d$label[i], "ci_high", scale(yi[i] + zs * sqrt(vi[i])))
    add_result(id, "study", d$label[i], "weight", w[j])
  }
  groups <- unique(d$subgroup[ok & !is.na(d$subgroup)])
  if (length(groups) > 1) {
    est <- se <- numeric(0)
    for (g in groups) {
      sel <- ok & d$subgroup == g
      f <- fit(yi[sel], vi[sel], random, total_level)
      add_pooled(id, "subgroup", g, f, log_scale)
      est <- c(est, f$b[1]); se <- c(se, f$se)
    }
    test <- rma(est, sei = se, method = "FE")
    add_result(id, "test", "", "chi2", test$QE)
    add_result(id, "test", "", "df", test$k - 1)
    add_result(id, "test", "", "p", test$QEp, "exact")
    add_result(id, "test", "", "p", revman5_chi2_p(test$QE, test$k - 1), "revman5")
    add_result(id, "test", "", "i2", max(0, (test$QE - (test$k - 1)) / test$QE) * 100)
  }
}

# 1.1 / 1.2: BCG vaccine, generic inverse variance: log risk ratio and SE computed from
# the 2x2 counts (escalc, measure RR) and rounded to 4 decimals, as a review author
# would enter them.
bcg <- escalc(measure = "RR", ai = tpos, bi = tneg, ci = cpos, di = cneg, data = dat.bcg)
giv <- data.frame(
  label = paste(dat.bcg$author, dat.bcg$year), year = dat.bcg$year,
  subgroup = paste(toupper(substring(dat.bcg$alloc, 1, 1)), substring(dat.bcg$alloc, 2),
                   " allocation", sep = ""),
  yi = round(as.numeric(bcg$yi), 4), sei = round(sqrt(as.numeric(bcg$vi)), 4),
  provenance = paste("log RR and SE from the 2x2 counts of Colditz et al. 1994 (JAMA",
                     "271:698) as in R metadat dat.bcg, rounded to 4 decimals"))
analyse("1.1", giv, giv$yi, giv$sei^2, random = TRUE, 0.95, 0.95, log_scale = TRUE)
giv2 <- giv; giv2$subgroup <- NA
analyse("1.2", giv2, giv$yi, giv$sei^2, random = FALSE, 0.90, 0.99, log_scale = TRUE)

# 2.1 / 2.2: beta blockers, O - E and variance (Peto) per trial from the 2x2 counts of
# Yusuf et al. 1985 (Prog Cardiovasc Dis 27:335) as in metadat dat.yusuf1985: table 6
# (oral, short term) and table 9 (initial IV dose), rounded to 4 decimals; trials with
# missing counts left out.
oe_data <- function(table) {
  d <- dat.yusuf1985[dat.yusuf1985$table == table & !is.na(dat.yusuf1985$ai), ]
  n1 <- as.numeric(d$n1i); n2 <- as.numeric(d$n2i)
  n <- n1 + n2; m <- as.numeric(d$ai + d$ci)
  e <- n1 * m / n
  v <- n1 * n2 * m * (n - m) / (n^2 * (n - 1))
  label <- ifelse(duplicated(d$trial) | duplicated(d$trial, fromLast = TRUE),
                  paste0(d$trial, " (trial ", d$id, ")"), d$trial)
  data.frame(label = label, year = NA, subgroup = NA,
             o_minus_e = round(d$ai - e, 4), variance = round(v, 4),
             provenance = paste("O - E and hypergeometric variance from the 2x2 counts of",
                                "Yusuf et al. 1985 (Prog Cardiovasc Dis 27:335), table", table,
                                "as in R metadat dat.yusuf1985, rounded to 4 decimals"))
}
oe6 <- oe_data("6")
analyse("2.1", oe6, oe6$o_minus_e / oe6$variance, 1 / oe6$variance, random = FALSE,
        0.95, 0.95, log_scale = TRUE)
oe9 <- oe_data("9")
analyse("2.2", oe9, oe9$o_minus_e / oe9$variance, 1 / oe9$variance, random = TRUE,
        0.95, 0.95, log_scale = TRUE)

all_columns <- c("analysis", "label", "year", "subgroup", "yi", "sei", "o_minus_e",
                 "variance", "provenance")
studies <- lapply(studies, function(d) {
  for (column in setdiff(all_columns, names(d))) d[[column]] <- NA
  d[, all_columns]
})
write.csv(do.call(rbind, studies), file.path(out, "studies.csv"), row.names = FALSE, na = "")
write.csv(do.call(rbind, results), file.path(out, "results.csv"), row.names = FALSE, na = "")
cat(sprintf("metafor %s, R %s\n", packageVersion("metafor"), getRversion()),
    file = file.path(out, "versions.txt"))
