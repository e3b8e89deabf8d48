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

# A pooled result: the numbers RevMan stores, and the study weights (percent).
pooled <- function(b, se, level, q, k, tau2, w) {
  z <- qnorm(1 - (1 - level) / 2)
  list(b = b, se = se, ci.lb = b - z * se, ci.ub = b + z * se, zval = b / se,
       pval = 2 * pnorm(-abs(b / se)), QE = q, k = k, tau2 = tau2, w = w)
}

# Inverse variance: FE, or DerSimonian-Laird (RevMan 5's random effects); metafor's rma.
iv <- function(yi, vi, random, level) {
  f <- rma(yi, vi, method = if (random && length(yi) > 1) "DL" else "FE", level = level * 100)
  pooled(f$b[1], f$se, level, f$QE, f$k, if (random) f$tau2 else NA, weights(f))
}

# Mantel-Haenszel (metafor's rma.mh) on tables where RevMan added 1/2 to every cell of a
# table with a zero cell. Random effects as RevMan 5 (Deeks & Higgins 2010): DL tau^2
# from the heterogeneity Q of the MH analysis (centred on the MH estimate, inverse-
# variance weights), then inverse-variance pooling with 1/(v_i + tau^2).
mh <- function(t, measure, random, level) {
  f <- rma.mh(ai = t$ai, bi = t$bi, ci = t$ci, di = t$di, measure = measure, add = 0,
              to = "none", level = level * 100)
  if (!random || nrow(t) == 1)
    return(pooled(f$b[1], f$se, level, f$QE, f$k, NA, weights(f)))
  es <- escalc(measure, ai = t$ai, bi = t$bi, ci = t$ci, di = t$di, add = 0, to = "none")
  w <- 1 / es$vi
  tau2 <- max(0, (f$QE - (f$k - 1)) / (sum(w) - sum(w^2) / sum(w)))
  r <- rma(es$yi, es$vi, tau2 = tau2, level = level * 100)
  pooled(r$b[1], r$se, level, f$QE, f$k, tau2, weights(r))
}

add_pooled <- function(analysis, scope, item, f, log_scale) {
  scale <- if (log_scale) exp else identity
  add_result(analysis, scope, item, "effect", scale(f$b))
  add_result(analysis, scope, item, "ci_low", scale(f$ci.lb))
  add_result(analysis, scope, item, "ci_high", scale(f$ci.ub))
  add_result(analysis, scope, item, "z", abs(f$zval))
  add_result(analysis, scope, item, "p", f$pval)
  add_result(analysis, scope, item, "df", f$k - 1)
  if (f$k > 1) {
    add_result(analysis, scope, item, "chi2", f$QE)
    add_result(analysis, scope, item, "chi2_p", pchisq(f$QE, f$k - 1, lower.tail = FALSE),
               "exact")
    add_result(analysis, scope, item, "chi2_p", revman5_chi2_p(f$QE, f$k - 1), "revman5")
    add_result(analysis, scope, item, "i2", max(0, (f$QE - (f$k - 1)) / f$QE) * 100)
  }
  if (!is.na(f$tau2)) add_result(analysis, scope, item, "tau2", f$tau2)
}

# analysis: id; d: data frame with label, year, subgroup, provenance and the inputs;
# yi/vi: each study's effect (analysis scale) and variance, non-finite where RevMan
# says "not estimable"; pool(selected rows, level): the pooled result.
analyse <- function(id, d, yi, vi, pool, study_level, total_level, log_scale) {
  d$analysis <- id
  studies[[length(studies) + 1]] <<- d
  ok <- is.finite(yi) & is.finite(vi) & vi > 0
  overall <- pool(ok, total_level)
  add_pooled(id, "overall", "", overall, log_scale)
  scale <- if (log_scale) exp else identity
  zs <- qnorm(1 - (1 - study_level) / 2)
  for (i in which(ok)) {
    j <- sum(ok[seq_len(i)])
    add_result(id, "study", d$label[i], "effect", scale(yi[i]))
    add_result(id, "study", d$label[i], "se", sqrt(vi[i]))
    add_result(id, "study", d$label[i], "ci_low", scale(yi[i] - zs * sqrt(vi[i])))
    add_result(id, "study", d$label[i], "ci_high", scale(yi[i] + zs * sqrt(vi[i])))
    add_result(id, "study", d$label[i], "weight", overall$w[j])
  }
  groups <- unique(d$subgroup[ok & !is.na(d$subgroup)])
  if (length(groups) > 1) {
    est <- se <- numeric(0)
    for (g in groups) {
      f <- pool(ok & d$subgroup %in% g, total_level)
      add_pooled(id, "subgroup", g, f, log_scale)
      est <- c(est, f$b); se <- c(se, f$se)
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
with_iv <- function(yi, vi, random) function(sel, level) iv(yi[sel], vi[sel], random, level)
analyse("1.1", giv, giv$yi, giv$sei^2, with_iv(giv$yi, giv$sei^2, TRUE), 0.95, 0.95, TRUE)
giv2 <- giv; giv2$subgroup <- NA
analyse("1.2", giv2, giv$yi, giv$sei^2, with_iv(giv$yi, giv$sei^2, FALSE), 0.90, 0.99, TRUE)

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
y6 <- oe6$o_minus_e / oe6$variance; v6 <- 1 / oe6$variance
analyse("2.1", oe6, y6, v6, with_iv(y6, v6, FALSE), 0.95, 0.95, TRUE)
oe9 <- oe_data("9")
y9 <- oe9$o_minus_e / oe9$variance; v9 <- 1 / oe9$variance
analyse("2.2", oe9, y9, v9, with_iv(y9, v9, TRUE), 0.95, 0.95, TRUE)

# 3.x: 2x2 counts. RevMan adds 1/2 to every cell of a table with a zero cell (Cochrane
# Handbook 5.1, 9.4.4) and leaves out, as "not estimable", an odds or risk ratio of a
# table with no events (or only events) in both arms.
counts_data <- function(ai, n1, ci, n2, label, year, subgroup, provenance) {
  data.frame(label = label, year = year, subgroup = subgroup, events_exp = ai,
             total_exp = n1, events_ctrl = ci, total_ctrl = n2, provenance = provenance)
}
tables <- function(d) {
  t <- data.frame(ai = as.numeric(d$events_exp), bi = as.numeric(d$total_exp - d$events_exp),
                  ci = as.numeric(d$events_ctrl), di = as.numeric(d$total_ctrl - d$events_ctrl))
  zero <- t$ai == 0 | t$bi == 0 | t$ci == 0 | t$di == 0
  t[zero, ] <- t[zero, ] + 0.5
  t
}
estimable <- function(d) {
  !((d$events_exp == 0 & d$events_ctrl == 0) |
      (d$events_exp == d$total_exp & d$events_ctrl == d$total_ctrl))
}
dichotomous <- function(id, d, measure, method, random, level = 0.95) {
  t <- tables(d)
  es <- escalc(measure, ai = t$ai, bi = t$bi, ci = t$ci, di = t$di, add = 0, to = "none")
  yi <- ifelse(estimable(d), es$yi, NA); vi <- ifelse(estimable(d), es$vi, NA)
  if (method == "PETO") {  # Peto's O - E and hypergeometric V, from the raw counts
    n1 <- as.numeric(d$total_exp); n2 <- as.numeric(d$total_ctrl); n <- n1 + n2
    m <- as.numeric(d$events_exp + d$events_ctrl)
    v <- n1 * n2 * m * (n - m) / (n^2 * (n - 1))
    yi <- ifelse(v > 0, (d$events_exp - n1 * m / n) / v, NA); vi <- ifelse(v > 0, 1 / v, NA)
    ok <- is.finite(yi)
    peto <- rma.peto(ai = d$events_exp[ok], n1i = n1[ok], ci = d$events_ctrl[ok],
                     n2i = n2[ok])
    check <- iv(yi[ok], vi[ok], FALSE, level)
    stopifnot(abs(peto$b[1] - check$b) < 1e-12, abs(peto$QE - check$QE) < 1e-9)
  }
  pool <- function(sel, lev) {
    if (method == "MH") return(mh(t[sel, ], measure, random, lev))
    iv(yi[sel], vi[sel], random, lev)
  }
  analyse(id, d, yi, vi, pool, level, level, measure != "RD")
}
bcg_counts <- counts_data(
  dat.bcg$tpos, dat.bcg$tpos + dat.bcg$tneg, dat.bcg$cpos, dat.bcg$cpos + dat.bcg$cneg,
  giv$label, dat.bcg$year, giv$subgroup,
  "2x2 counts of Colditz et al. 1994 (JAMA 271:698) as in R metadat dat.bcg")
dichotomous("3.1", bcg_counts, "RR", "MH", random = TRUE)
yusuf_counts <- function(table) {
  d <- dat.yusuf1985[dat.yusuf1985$table == table & !is.na(dat.yusuf1985$ai), ]
  counts_data(d$ai, d$n1i, d$ci, d$n2i, oe_data(table)$label, NA, NA,
              paste("2x2 counts of Yusuf et al. 1985 (Prog Cardiovasc Dis 27:335), table",
                    table, "as in R metadat dat.yusuf1985"))
}
dichotomous("3.2", yusuf_counts("6"), "OR", "MH", random = FALSE)
dichotomous("3.3", yusuf_counts("6"), "OR", "PETO", random = FALSE)
dichotomous("3.4", yusuf_counts("9"), "OR", "IV", random = TRUE)

# 4.x: means and SDs. 4.1 mean difference; 4.2 RevMan 5's standardised mean difference
# (Deeks & Higgins 2010): Hedges' g with the approximate correction 1 - 3/(4N - 9) and
# SE = sqrt(N/(n1 n2) + g^2/(2(N - 3.94))), computed here from those formulas and
# pooled by metafor.
nd <- dat.normand1999
means <- data.frame(label = nd$source, year = NA, subgroup = NA, mean_exp = nd$m1i,
                    sd_exp = nd$sd1i, n_exp = nd$n1i, mean_ctrl = nd$m2i, sd_ctrl = nd$sd2i,
                    n_ctrl = nd$n2i,
                    provenance = paste("length of stay (days), specialist stroke unit vs",
                                       "usual care: Normand 1999 (Stat Med 18:321) as in",
                                       "R metadat dat.normand1999"))
md <- escalc("MD", m1i = nd$m1i, sd1i = nd$sd1i, n1i = nd$n1i, m2i = nd$m2i, sd2i = nd$sd2i,
             n2i = nd$n2i)
analyse("4.1", means, md$yi, md$vi, with_iv(md$yi, md$vi, TRUE), 0.95, 0.95, FALSE)
n <- nd$n1i + nd$n2i
s_pooled <- sqrt(((nd$n1i - 1) * nd$sd1i^2 + (nd$n2i - 1) * nd$sd2i^2) / (n - 2))
g <- (nd$m1i - nd$m2i) / s_pooled * (1 - 3 / (4 * n - 9))
v_g <- n / (nd$n1i * nd$n2i) + g^2 / (2 * (n - 3.94))
analyse("4.2", means, g, v_g, with_iv(g, v_g, FALSE), 0.95, 0.95, FALSE)

all_columns <- c("analysis", "label", "year", "subgroup", "yi", "sei", "o_minus_e",
                 "variance", "events_exp", "total_exp", "events_ctrl", "total_ctrl",
                 "mean_exp", "sd_exp", "n_exp", "mean_ctrl", "sd_ctrl", "n_ctrl",
                 "provenance")
studies <- lapply(studies, function(d) {
  for (column in setdiff(all_columns, names(d))) d[[column]] <- NA
  d[, all_columns]
})
write.csv(do.call(rbind, studies), file.path(out, "studies.csv"), row.names = FALSE, na = "")
write.csv(do.call(rbind, results), file.path(out, "results.csv"), row.names = FALSE, na = "")
cat(sprintf("metafor %s, R %s\n", packageVersion("metafor"), getRversion()),
    file = file.path(out, "versions.txt"))
