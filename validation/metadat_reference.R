# Regenerates the metadat fixtures in tests/data/ and metafor's results on them in
# tests/reference/metadat_reference.csv, so that the Python tests check metabridge
# against metafor on real data without R installed.
#
#   Rscript validation/metadat_reference.R
#
# Fixtures (each row carries a `provenance` column; metadat is GPL >= 2):
#   li2007_or.csv      dat.li2007 (Li et al. 2007, magnesium for acute MI), log odds
#                      ratios by escalc(measure = "OR", to = "none"): the two studies
#                      with a zero cell get yi = vi = NA, and "Shechter" occurs 3 times.
#   hackshaw1998.csv   dat.hackshaw1998 (Hackshaw et al. 1997, BMJ 315:980), passive
#                      smoking and lung cancer: odds ratios with CIs AND metadat's yi/vi.
#   egger2001_or.csv   dat.egger2001 (Egger et al. 2001, magnesium trials), log odds
#                      ratios by escalc(measure = "OR") and total sample sizes ni.
# The verbs a metafor user reaches for are pinned on these and on BCG (the
# data set metabridge ships, src/metabridge/datasets/bcg.csv): cumul(), influence(),
# baujat() coordinates, trimfill() (L0, R0), regtest() with sample-size predictors,
# and confint() -- each for the estimators metabridge's engines share (FE, DL, REML).
# Reference rows: dataset, analysis, statistic, label, value (17 significant digits).

source("r/metabridge.R")
suppressPackageStartupMessages(library(metadat))

provenance <- function(name, citation) {
  sprintf("metadat %s %s (%s); GPL >= 2", packageDescription("metadat")$Version, name, citation)
}

# escalc warns that zero cells give +-Inf, recoded to NA: that is the point here.
li <- suppressWarnings(escalc(measure = "OR", ai = ai, n1i = n1i, ci = ci, n2i = n2i,
                              data = dat.li2007, to = "none"))
li <- data.frame(li)
li$provenance <- provenance("dat.li2007", "Li et al. 2007; escalc(measure = 'OR', to = 'none')")
write.csv(li, "tests/data/li2007_or.csv", row.names = FALSE)

hk <- dat.hackshaw1998
hk$provenance <- provenance("dat.hackshaw1998", "Hackshaw et al. 1997, BMJ 315:980")
write.csv(hk, "tests/data/hackshaw1998.csv", row.names = FALSE)

eg <- escalc(measure = "OR", ai = ai, n1i = n1i, ci = ci, n2i = n2i, data = dat.egger2001)
eg <- data.frame(eg)
eg$ni <- eg$n1i + eg$n2i
eg$provenance <- provenance("dat.egger2001", "Egger et al. 2001; escalc(measure = 'OR')")
write.csv(eg, "tests/data/egger2001_or.csv", row.names = FALSE)

bcg_data <- read.csv("src/metabridge/datasets/bcg.csv")
bcg <- escalc(measure = "RR", ai = tpos, bi = tneg, ci = cpos, di = cneg, data = bcg_data)

rows <- list()
add <- function(dataset, analysis, statistic, value, label = "") {
  if (length(value) == 0) value <- NA_real_
  rows[[length(rows) + 1]] <<- data.frame(
    dataset = dataset, analysis = analysis, statistic = statistic, label = label,
    value = if (is.character(value)) value else sprintf("%.17g", value))
}

# metafor's rma() with its defaults (REML, z test, na.action = na.omit), labels by study:
# which studies it keeps, how it makes labels unique, and what it estimates.
ok <- complete.cases(li$yi, li$vi)
fit <- suppressWarnings(rma(yi, vi, data = li, slab = study,
                            control = mb_control(li$yi[ok], li$vi[ok])))
add("li2007_or", "rma", "k", fit$k)
for (s in c("estimate", "se", "tau2", "i2", "q")) {
  value <- switch(s, estimate = coef(fit), se = fit$se, tau2 = fit$tau2, i2 = fit$I2, q = fit$QE)
  add("li2007_or", "rma", s, as.numeric(value))
}
w <- weights(fit)
for (i in seq_along(w)) add("li2007_or", "rma", "weight", w[[i]], names(w)[i])

# Labels made unique: hackshaw1998 labelled by author alone (six authors repeat).
hk_fit <- rma(yi, vi, data = hk, slab = author)
for (i in seq_along(hk_fit$slab)) add("hackshaw1998", "slab", "label", hk_fit$slab[i],
                                      as.character(i))

# One row per study and statistic of a per-study table (labels are 1-based positions).
add_table <- function(dataset, analysis, table) {
  for (column in names(table)) {
    for (i in seq_along(table[[column]])) {
      add(dataset, analysis, column, as.numeric(table[[column]][i]), as.character(i))
    }
  }
}

fit_on <- function(d, method) rma(yi, vi, data = d, method = method,
                                  control = mb_control(d$yi, d$vi))

# se(tau^2) and fitstats() (REML likelihood for REML, else ML), as summary() prints them.
for (method in c("FE", "DL", "ML", "REML")) {
  fit <- fit_on(bcg, method)
  stats <- fitstats(fit)
  add("bcg", paste0("fitstats_", method), "se_tau2",
      if (is.null(fit$se.tau2)) NA_real_ else fit$se.tau2)
  for (i in seq_along(stats)) {
    add("bcg", paste0("fitstats_", method), c("loglik", "deviance", "aic", "bic", "aicc")[i],
        as.numeric(stats[i]))
  }
}
for (method in c("FE", "DL", "REML")) {
  fit <- fit_on(bcg, method)
  # cumul(): studies in order of publication year (ties kept in data order).
  cm <- cumul(fit, order = bcg$year)
  or_na <- function(x) if (is.null(x)) rep(NA_real_, length(cm$estimate)) else x
  add_table("bcg", paste0("cumul_year_", method),
            data.frame(estimate = cm$estimate, se = cm$se, ci_lb = cm$ci.lb, ci_ub = cm$ci.ub,
                       pval = cm$pvals, q = cm$Q, tau2 = or_na(cm$tau2), i2 = or_na(cm$I2),
                       order = order(bcg$year)))
  inf <- influence(fit)
  add_table("bcg", paste0("influence_", method),
            data.frame(rstudent = inf$inf$rstudent, dffits = inf$inf$dffits,
                       cook_d = inf$inf$cook.d, cov_r = inf$inf$cov.r,
                       tau2_del = inf$inf$tau2.del, q_del = inf$inf$QE.del, hat = inf$inf$hat,
                       weight = inf$inf$weight, dfbetas = inf$dfbs$intrcpt,
                       influential = as.numeric(inf$is.infl)))
  pdf(NULL)  # baujat() draws; only its coordinates are kept
  bj <- baujat(fit)
  dev.off()
  add_table("bcg", paste0("baujat_", method), data.frame(x = bj$x, y = bj$y))
  if (method != "FE") {
    ci <- confint(fit, control = list(tol = 1e-12, maxiter = 1000))
    add_table("bcg", paste0("confint_", method),
              data.frame(estimate = ci$random[, 1], ci_lb = ci$random[, 2],
                         ci_ub = ci$random[, 3]))
  }
}

# The same cumul() and influence() at metafor's default control (threshold 1e-5):
# what metafor's own test files print (tests/reference/verbs_published.toml).
default_fit <- rma(yi, vi, data = bcg)
add_table("bcg", "cumul_year_REML_default",
          data.frame(estimate = cumul(default_fit, order = bcg$year)$estimate))
default_inf <- influence(default_fit)
add_table("bcg", "influence_REML_default",
          data.frame(rstudent = default_inf$inf$rstudent, dffits = default_inf$inf$dffits,
                     cook_d = default_inf$inf$cook.d, cov_r = default_inf$inf$cov.r,
                     tau2_del = default_inf$inf$tau2.del, q_del = default_inf$inf$QE.del,
                     hat = default_inf$inf$hat, weight = default_inf$inf$weight,
                     dfbetas = default_inf$dfbs$intrcpt))

# trimfill(): L0 and R0, the side chosen by metafor, on BCG and Hackshaw 1998.
for (name in c("bcg", "hackshaw1998")) {
  d <- if (name == "bcg") bcg else hk
  for (method in c("FE", "DL", "REML")) {
    fit <- fit_on(d, method)
    for (estimator in c("L0", "R0")) {
      tf <- trimfill(fit, estimator = estimator, control = mb_control(fit$yi, fit$vi))
      key <- paste0("trimfill_", estimator, "_", method)
      add(name, key, "k0", tf$k0)
      add(name, key, "se_k0", tf$se.k0)
      add(name, key, "side", tf$side)
      add(name, key, "p_k0", if (is.null(tf$p.k0)) NA_real_ else tf$p.k0)
      for (s in c("estimate", "se", "tau2", "ci_lb", "ci_ub", "pval")) {
        value <- switch(s, estimate = coef(tf), se = tf$se, tau2 = tf$tau2, ci_lb = tf$ci.lb,
                        ci_ub = tf$ci.ub, pval = tf$pval)
        add(name, key, s, as.numeric(value))
      }
      filled <- which(tf$fill)
      for (j in seq_along(filled)) {
        add(name, key, "filled_yi", tf$yi[filled[j]], as.character(j))
        add(name, key, "filled_vi", tf$vi[filled[j]], as.character(j))
      }
    }
  }
}

# regtest() with the sample size as predictor (and the SE, for comparison), on
# Egger 2001; metafor's own test file pins the "lm"/"sqrtninv" statistic at -5.6083.
for (method in c("FE", "DL", "REML")) {
  fit <- rma(yi, vi, ni = ni, data = eg, method = method,
             control = mb_control(eg$yi, eg$vi))
  for (model in c("lm", "rma")) {
    for (predictor in c("sei", "vi", "ni", "ninv", "sqrtninv")) {
      rt <- regtest(fit, model = model, predictor = predictor)
      key <- paste0("regtest_", model, "_", predictor, "_", method)
      add("egger2001_or", key, "statistic", rt$zval)
      add("egger2001_or", key, "p", rt$pval)
      add("egger2001_or", key, "df", if (is.null(rt$dfs)) NA_real_ else rt$dfs)
      add("egger2001_or", key, "coef", coef(rt$fit)[2])
      add("egger2001_or", key, "coef_se", sqrt(diag(vcov(rt$fit)))[2])
      add("egger2001_or", key, "limit", rt$est)
    }
  }
}

out <- do.call(rbind, rows)
con <- file("tests/reference/metadat_reference.csv", "w")
writeLines(sprintf("# metafor %s, metadat %s, R %s; generated by validation/metadat_reference.R",
                   mb_versions()$metafor, packageDescription("metadat")$Version,
                   mb_versions()$R), con)
write.csv(out, con, row.names = FALSE)
close(con)
cat("wrote", nrow(out), "rows to tests/reference/metadat_reference.csv\n")
