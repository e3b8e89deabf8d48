# metabridge's R side: thin wrappers around metafor that return plain lists of
# numbers and strings, so that no R object crosses into Python.
#
# Loaded once per Python process by src/metabridge/backends/metafor.py (through
# rpy2); also usable on its own:  Rscript -e 'source("r/metabridge.R"); str(mb_rma(...))'
#
# Every wrapper returns list(error = <message or NULL>, warnings = <character>, ...).

suppressPackageStartupMessages(library(metafor))

# Iterative estimators run to tight tolerances (convention "metafor.tolerance").
# metafor's stopping rules are absolute in tau^2 (Fisher scoring: change < threshold;
# uniroot: tol), so they are scaled to the data: 1e-12 (threshold) and 1e-14 (tol)
# times the larger of the mean sampling variance and the variance of the effects.
mb_control <- function(yi, vi) {
  scale <- max(mean(vi), if (length(yi) > 1) var(yi) else 0)
  list(threshold = 1e-12 * scale, tol = 1e-14 * scale, maxiter = 1000)
}

mb_versions <- function() {
  list(metafor = packageDescription("metafor")$Version,
       R = paste(R.version$major, R.version$minor, sep = "."))
}

# Evaluate `expr`, collecting warnings and turning an error into its message.
mb_capture <- function(expr) {
  warnings <- character()
  value <- withCallingHandlers(
    tryCatch(expr, error = function(e) structure(list(message = conditionMessage(e)),
                                                 class = "mb_error")),
    warning = function(w) {
      warnings <<- c(warnings, conditionMessage(w))
      invokeRestart("muffleWarning")
    })
  if (inherits(value, "mb_error")) {
    return(list(value = NULL, error = value$message, warnings = warnings))
  }
  list(value = value, error = NULL, warnings = warnings)
}

# metafor reads its `level` argument as a percentage when >= 1, as a proportion
# when in (0.5, 1), and as alpha (!) when <= 0.5 (metafor:::.level).  So a level
# above 0.5 is passed as the proportion (alpha = 1 - level, exactly), one in
# [0.01, 0.5] as a percentage, and one below 0.01 cannot be passed at all: NA.
mb_level <- function(level) {
  if (level > 0.5) level else if (100 * level >= 1) 100 * level else NA_real_
}

# CI and prediction interval of an intercept-only fit at `level`.  metafor's own
# (rma's CI, predict()'s PI, with the level passed explicitly: predict() would
# re-read the fit's stored alpha as a level) when it can represent the level;
# otherwise computed here with the critical value predict.rma() uses (normal, or
# t on the fit's ddf for Hartung-Knapp), flagged as `intervals_here`.
mb_intervals <- function(fit, level) {
  random <- !(fit$method %in% c("FE", "EE", "CE"))  # a fixed tau^2 (mb_rma_tau2) too
  as_metafor <- mb_level(level)
  if (!is.na(as_metafor)) {
    pred <- if (random) predict(fit, level = as_metafor) else NULL
    return(list(ci_lb = as.numeric(fit$ci.lb), ci_ub = as.numeric(fit$ci.ub),
                pi_lb = if (random) as.numeric(pred$pi.lb) else NA_real_,
                pi_ub = if (random) as.numeric(pred$pi.ub) else NA_real_,
                intervals_here = FALSE))
  }
  crit <- if (fit$test %in% c("knha", "adhoc", "t")) qt((1 + level) / 2, df = fit$ddf)
          else qnorm((1 + level) / 2)
  est <- as.numeric(coef(fit))
  half_pi <- crit * sqrt(fit$se^2 + fit$tau2)
  list(ci_lb = est - crit * fit$se, ci_ub = est + crit * fit$se,
       pi_lb = if (random) est - half_pi else NA_real_,
       pi_ub = if (random) est + half_pi else NA_real_, intervals_here = TRUE)
}

# rma() at `level` (any level in (0, 1); see mb_level).
mb_fit <- function(yi, vi, method, level, test = "z") {
  as_metafor <- mb_level(level)
  rma(yi = yi, vi = vi, method = method, level = if (is.na(as_metafor)) 95 else as_metafor,
      test = test, control = mb_control(yi, vi))
}

# The numbers of a fitted rma.uni model that PoolResult needs (with the
# prediction interval for random-effects models), and what it reports about the
# fit: se(tau^2) and fitstats() (the REML likelihood for REML fits, else the ML
# likelihood, as summary.rma prints them).
mb_fit_stats <- function(fit) {
  stats <- tryCatch(as.numeric(fitstats(fit)), error = function(e) rep(NA_real_, 5))
  list(se_tau2 = if (is.null(fit$se.tau2)) NA_real_ else as.numeric(fit$se.tau2),
       loglik = stats[1], deviance = stats[2], aic = stats[3], bic = stats[4], aicc = stats[5],
       likelihood = if (fit$method == "REML") "REML" else "ML")
}

mb_fit_numbers <- function(fit, level) {
  c(mb_intervals(fit, level), list(fit_stats = mb_fit_stats(fit)),
    list(estimate = as.numeric(coef(fit)), se = as.numeric(fit$se),
         zval = as.numeric(fit$zval), pval = as.numeric(fit$pval),
         tau2 = as.numeric(fit$tau2), i2 = as.numeric(fit$I2), h2 = as.numeric(fit$H2),
         q = as.numeric(fit$QE), q_p = as.numeric(fit$QEp), k = as.integer(fit$k),
         weights = as.numeric(weights(fit)), test = fit$test, converged = TRUE))
}

# One random- or fixed-effects model: rma(yi, vi, method, level, test).
mb_rma <- function(yi, vi, method, level, test = "z") {
  res <- mb_capture(mb_fit(yi, vi, method, level, test))
  if (!is.null(res$error)) {
    return(list(error = res$error, warnings = res$warnings))
  }
  out <- mb_fit_numbers(res$value, level)
  out$converged <- !any(grepl("converge", res$warnings, ignore.case = TRUE))
  c(out, list(error = NULL, warnings = res$warnings))
}

# The same model with tau^2 fixed at a given value (metabridge's repair route when
# metafor's own tau^2 fails a sanity check): rma(..., tau2 = tau2).
mb_rma_tau2 <- function(yi, vi, tau2, level, test = "z") {
  as_metafor <- mb_level(level)
  res <- mb_capture(rma(yi = yi, vi = vi, tau2 = tau2, method = "REML",
                        level = if (is.na(as_metafor)) 95 else as_metafor, test = test,
                        control = mb_control(yi, vi)))
  if (!is.null(res$error)) {
    return(list(error = res$error, warnings = res$warnings))
  }
  c(mb_fit_numbers(res$value, level), list(error = NULL, warnings = res$warnings))
}

# Leave-one-out: the same model refitted without each study in turn (one call
# from Python for all k fits).  Agrees with metafor's leave1out() row by row.
mb_leave1out <- function(yi, vi, method, level, test = "z") {
  fits <- lapply(seq_along(yi), function(i) {
    mb_rma(yi[-i], vi[-i], method, level, test)
  })
  list(fits = fits, error = NULL, warnings = character())
}

# Subgroups with a separate tau^2 per subgroup (RevMan / meta convention):
# one rma() per subgroup, then the Q-between test on the subgroup estimates.
# A one-study subgroup is its own estimate (tau^2 = 0), as in RevMan and meta.
# `fits` is an unnamed list in the order of `groups` (group names never become
# list names, so a group called "error" cannot pose as a field).  A subgroup
# whose fit fails keeps its error in its entry; the others are kept, and the
# Q-between test, which needs every subgroup, is then left out (NA).
mb_subgroups_separate <- function(yi, vi, group, method, level, test = "z") {
  groups <- unique(group)
  fits <- unname(lapply(groups, function(g) {
    in_g <- group == g
    mb_rma(yi[in_g], vi[in_g], if (sum(in_g) > 1) method else "FE", level, test)
  }))
  between <- list(q = NA_real_, df = length(groups) - 1L, q_p = NA_real_)
  if (all(vapply(fits, function(f) is.null(f$error), logical(1)))) {
    est <- vapply(fits, function(f) f$estimate, numeric(1))
    se <- vapply(fits, function(f) f$se, numeric(1))
    fe <- rma(yi = est, sei = se, method = "FE")
    between <- list(q = as.numeric(fe$QE), df = length(groups) - 1L,
                    q_p = as.numeric(fe$QEp))
  }
  list(groups = groups, fits = fits, between = between, error = NULL, warnings = character())
}

# Subgroups with a common tau^2 (metafor's mixed-effects model): the omnibus
# test of the factor moderator, QM on G - 1 df.
mb_subgroups_common <- function(yi, vi, group, method, level, test = "z") {
  # (QM does not depend on the level; metafor's default 95 stands in for any level.)
  res <- mb_capture(rma(yi = yi, vi = vi, mods = ~ factor(group, levels = unique(group)),
                        method = method, test = test, control = mb_control(yi, vi)))
  if (!is.null(res$error)) return(list(error = res$error, warnings = res$warnings))
  fit <- res$value
  list(qm = as.numeric(fit$QM), qm_df = as.integer(fit$QMdf[1]), qm_p = as.numeric(fit$QMp),
       tau2 = as.numeric(fit$tau2), qe = as.numeric(fit$QE), qe_p = as.numeric(fit$QEp),
       error = NULL, warnings = res$warnings)
}

# A captured regtest() as a list: the test, the coefficient of the predictor (bias)
# with its SE, and the limit estimate; or the error.
mb_regtest_result <- function(res) {
  if (!is.null(res$error)) return(list(error = res$error, warnings = res$warnings))
  rt <- res$value
  list(statistic = as.numeric(rt$zval),
       df = if (is.null(rt$dfs)) NA_real_ else as.numeric(rt$dfs),
       p = as.numeric(rt$pval), bias = as.numeric(coef(rt$fit)[2]),
       bias_se = as.numeric(sqrt(diag(vcov(rt$fit)))[2]),
       limit = as.numeric(rt$est), error = NULL, warnings = res$warnings)
}

# Funnel-plot asymmetry: regtest() with a given model ("lm" = classic Egger,
# "rma" = metafor's default meta-regression test) and predictor "sei".
mb_regtest <- function(yi, vi, model, method = "REML") {
  res <- mb_capture({
    fit <- rma(yi = yi, vi = vi, method = method, control = mb_control(yi, vi))
    regtest(fit, model = model, predictor = "sei")
  })
  # With predictor "sei" the coefficient of sei is Egger's intercept (bias) and
  # the intercept of this model is the limit estimate (Egger's slope).
  mb_regtest_result(res)
}

# Begg & Mazumdar rank correlation test: ranktest().
mb_ranktest <- function(yi, vi, method = "REML") {
  res <- mb_capture({
    fit <- rma(yi = yi, vi = vi, method = method, control = mb_control(yi, vi))
    ranktest(fit)
  })
  if (!is.null(res$error)) return(list(error = res$error, warnings = res$warnings))
  list(tau = as.numeric(res$value$tau), p = as.numeric(res$value$pval),
       error = NULL, warnings = res$warnings)
}

# A batch of independent meta-analyses (one per row of the reps x k matrices
# y and v), fitted in one call from Python: the simulation path.  A replicate
# whose fit fails gives NA and its message; so does a replicate with a missing
# or infinite value (rma() would silently pool it on fewer studies); nothing
# else is lost.
mb_rma_batch <- function(y, v, k, method, level, test = "z") {
  y <- matrix(y, ncol = k, byrow = TRUE)
  v <- matrix(v, ncol = k, byrow = TRUE)
  reps <- nrow(y)
  out <- matrix(NA_real_, nrow = reps, ncol = 3)
  failures <- character()
  for (i in seq_len(reps)) {
    bad <- which(!is.finite(y[i, ]) | !is.finite(v[i, ]))
    fit <- if (length(bad) > 0) {
      sprintf("study %d has a missing or infinite yi or vi (not pooled on fewer studies)",
              bad[1])
    } else {
      tryCatch(suppressWarnings(mb_fit(y[i, ], v[i, ], method, level, test)),
               error = function(e) conditionMessage(e))
    }
    if (is.character(fit)) {
      failures <- c(failures, sprintf("replicate %d: %s", i, fit))
    } else {
      out[i, ] <- c(as.numeric(coef(fit)), fit$se, fit$tau2)
    }
  }
  list(estimates = out[, 1], ses = out[, 2], tau2s = out[, 3], failures = failures,
       error = NULL, warnings = character())
}

# Q-profile confidence intervals for tau^2, tau, I^2 and H^2: confint(), with
# uniroot run to tol = 1e-12 (the default, 1.2e-4, moves the I^2 bound of the
# BCG data from 81.9206 to 81.9177; convention "metafor.tolerance").
# confint() searches tau^2 in [0, max(100, 10 tau^2)] and returns the end of that
# range as the bound when the root lies beyond it (ub.sign ">"; e.g. k = 2).  The
# search range here is made to contain the root: the generalised Q satisfies
# Q(tau^2) < SS / tau^2 with SS the unweighted sum of squares about the mean (the
# weighted mean minimises the weighted sum of squares, and every weight
# 1 / (vi + tau^2) is below 1 / tau^2), so Q(2 SS / crit) < crit / 2 for the lower
# chi-square quantile crit.  A bound still at the end of the range is an error.
mb_confint <- function(yi, vi, method, level) {
  res <- mb_capture({
    fit <- rma(yi = yi, vi = vi, method = method, control = mb_control(yi, vi))
    crit <- qchisq((1 - level) / 2, df = fit$k - 1)
    upper <- max(100, 10 * fit$tau2, 2 * sum((yi - mean(yi))^2) / crit)
    confint(fit, level = mb_level(level),
            control = list(tol = 1e-12, maxiter = 1000, tau2.max = upper))
  })
  if (!is.null(res$error)) return(list(error = res$error, warnings = res$warnings))
  ci <- res$value
  if (identical(ci$ub.sign, ">") || identical(ci$lb.sign, ">")) {
    return(list(error = "the Q-profile bound for tau^2 lies beyond the searched range",
                warnings = res$warnings))
  }
  ci <- ci$random
  list(estimate_ci = as.numeric(ci[, 1]), ci_lb_ci = as.numeric(ci[, 2]),
       ci_ub_ci = as.numeric(ci[, 3]), error = NULL, warnings = res$warnings)
}

# Mantel-Haenszel pooling of 2x2 tables (ai, bi: events and non-events, experimental
# arm; ci, di: control arm): rma.mh() with its defaults (add = 1/2, to = "only0" and
# drop00 = TRUE for the per-table yi/vi behind Q; the MH estimate from the counts as
# they are).  yi/vi are per table (NA for a double-zero table), weights the MH weights
# in percent.  add_tables = 1/2 with drop_tables = TRUE applies RevMan's zero-cell
# rule to the tables themselves (convention "pythonmeta.mh_zero_cells").
mb_rma_mh <- function(ai, bi, ci, di, measure, level, add_tables = 0, drop_tables = FALSE) {
  res <- mb_capture(rma.mh(ai = ai, bi = bi, ci = ci, di = di, measure = measure,
                           add = c(1/2, add_tables), to = c("only0", "only0"),
                           drop00 = c(TRUE, drop_tables), level = mb_table_level(level)))
  if (!is.null(res$error)) return(list(error = res$error, warnings = res$warnings))
  fit <- res$value
  c(mb_fixed_numbers(fit, level),
    list(yi = as.numeric(fit$yi.f), vi = as.numeric(fit$vi.f), k_yi = as.integer(fit$k.yi),
         error = NULL, warnings = res$warnings))
}

# RevMan's random-effects model for 2x2 tables ("M-H, Random"): the DerSimonian-Laird
# tau^2 from rma.mh()'s Q (centred on the MH estimate) with the inverse-variance weights
# of the per-table yi/vi behind that Q, then rma(yi, vi, tau2 = tau2) pools those tables.
# Q, its P, I^2 and H^2 are rma.mh()'s; mh_estimate is the centre of Q.
mb_rma_dl_mh <- function(ai, bi, ci, di, measure, level) {
  res <- mb_capture({
    mh <- rma.mh(ai = ai, bi = bi, ci = ci, di = di, measure = measure,
                 level = mb_table_level(level))
    w <- 1 / mh$vi
    tau2 <- max(0, (mh$QE - (mh$k.yi - 1)) / (sum(w) - sum(w^2) / sum(w)))
    list(mh = mh, fit = rma(yi = mh$yi, vi = mh$vi, tau2 = tau2,
                            level = mb_table_level(level)))
  })
  if (!is.null(res$error)) return(list(error = res$error, warnings = res$warnings))
  mh <- res$value$mh
  fit <- res$value$fit
  out <- mb_fit_numbers(fit, level)
  weights <- rep(0, length(ai))
  weights[!is.na(mh$yi.f)] <- out$weights
  c(out[setdiff(names(out), c("weights", "q", "q_p", "i2", "h2"))],
    mb_fixed_numbers(mh, level)[c("q", "q_p", "i2", "h2")],
    list(weights = weights, mh_estimate = as.numeric(mh$beta), yi = as.numeric(mh$yi.f),
         vi = as.numeric(mh$vi.f), k_yi = as.integer(mh$k.yi), error = NULL,
         warnings = res$warnings))
}

# Peto's one-step odds ratio: rma.peto().  yi/vi are the per-table one-step log odds
# ratios (O - E) / V and 1 / V on the counts as they are (what rma.peto's Q uses; NA
# where V = 0), weights V in percent.  add_tables / drop_tables as for mb_rma_mh.
mb_rma_peto <- function(ai, bi, ci, di, level, add_tables = 0, drop_tables = FALSE) {
  res <- mb_capture(rma.peto(ai = ai, bi = bi, ci = ci, di = di,
                             add = c(1/2, add_tables), to = c("only0", "only0"),
                             drop00 = c(TRUE, drop_tables), level = mb_table_level(level)))
  if (!is.null(res$error)) return(list(error = res$error, warnings = res$warnings))
  fit <- res$value
  double_zero <- (ai == 0 & ci == 0) | (bi == 0 & di == 0)
  if (add_tables > 0) {  # the one-step effects of the tables as rma.peto pooled them
    zero <- ai == 0 | bi == 0 | ci == 0 | di == 0
    ai[zero] <- ai[zero] + add_tables
    bi[zero] <- bi[zero] + add_tables
    ci[zero] <- ci[zero] + add_tables
    di[zero] <- di[zero] + add_tables
  }
  n1 <- ai + bi
  n2 <- ci + di
  n <- n1 + n2
  v <- (ai + ci) * (bi + di) * (n1 / n) * (n2 / n) / (n - 1)
  v[v == 0 | (drop_tables & double_zero)] <- NA
  c(mb_fixed_numbers(fit, level),
    list(yi = (ai - (ai + ci) * n1 / n) / v, vi = 1 / v, k_yi = as.integer(fit$k.yi),
         error = NULL, warnings = res$warnings))
}

# `level` as rma.mh / rma.peto take it (see mb_level; 95 where it cannot be passed and
# mb_fixed_numbers computes the CI itself).
mb_table_level <- function(level) {
  as_metafor <- mb_level(level)
  if (is.na(as_metafor)) 95 else as_metafor
}

# The numbers of a fitted rma.mh / rma.peto model (fixed effect: no tau^2, no PI); the
# CI computed here (normal quantile, as rma.mh) when metafor cannot take the level.
mb_fixed_numbers <- function(fit, level) {
  here <- is.na(mb_level(level))
  half <- qnorm((1 + level) / 2) * as.numeric(fit$se)
  list(estimate = as.numeric(fit$beta), se = as.numeric(fit$se),
       ci_lb = if (here) as.numeric(fit$beta) - half else as.numeric(fit$ci.lb),
       ci_ub = if (here) as.numeric(fit$beta) + half else as.numeric(fit$ci.ub),
       intervals_here = here, zval = as.numeric(fit$zval), pval = as.numeric(fit$pval),
       q = as.numeric(fit$QE), q_p = as.numeric(fit$QEp), i2 = as.numeric(fit$I2),
       h2 = as.numeric(fit$H2), k = as.integer(fit$k),
       weights = as.numeric(weights(fit)))
}

# Effect sizes of 2x2 tables or means data by escalc() with its defaults.
mb_escalc_counts <- function(ai, bi, ci, di, measure) {
  res <- mb_capture(escalc(measure, ai = ai, bi = bi, ci = ci, di = di))
  if (!is.null(res$error)) return(list(error = res$error, warnings = res$warnings))
  list(yi = as.numeric(res$value$yi), vi = as.numeric(res$value$vi), error = NULL,
       warnings = res$warnings)
}

mb_escalc_means <- function(m1i, sd1i, n1i, m2i, sd2i, n2i, measure) {
  res <- mb_capture(escalc(measure, m1i = m1i, sd1i = sd1i, n1i = n1i, m2i = m2i,
                           sd2i = sd2i, n2i = n2i))
  if (!is.null(res$error)) return(list(error = res$error, warnings = res$warnings))
  list(yi = as.numeric(res$value$yi), vi = as.numeric(res$value$vi), error = NULL,
       warnings = res$warnings)
}

# ------------------------------------------------------------------ sensitivity
# The verbs a metafor user reaches for, each one R call from Python.  Studies come
# in the order the analysis wants (cumulative: the order of addition).

# Cumulative meta-analysis: cumul() on the model, studies added in the given order
# (rma() with k = 1 fits the first step with tau^2 = 0).
mb_cumul <- function(yi, vi, method, level) {
  res <- mb_capture({
    fit <- mb_fit(yi, vi, method, level)
    cumul(fit)
  })
  if (!is.null(res$error)) return(list(error = res$error, warnings = res$warnings))
  cm <- res$value
  or_na <- function(x) if (is.null(x)) rep(NA_real_, length(cm$estimate)) else as.numeric(x)
  list(estimate = as.numeric(cm$estimate), se = as.numeric(cm$se), z = as.numeric(cm$zval),
       p = as.numeric(cm$pvals), ci_low = as.numeric(cm$ci.lb), ci_high = as.numeric(cm$ci.ub),
       q = as.numeric(cm$Q), q_p = as.numeric(cm$Qp), tau2 = or_na(cm$tau2),
       i2 = or_na(cm$I2), h2 = or_na(cm$H2), error = NULL, warnings = res$warnings)
}

# Case diagnostics: influence() and the coordinates of baujat() (drawn on a null
# device; only its numbers are kept).
mb_influence <- function(yi, vi, method, level) {
  res <- mb_capture({
    fit <- mb_fit(yi, vi, method, level)
    inf <- influence(fit)
    grDevices::pdf(NULL)
    bj <- tryCatch(baujat(fit), finally = grDevices::dev.off())
    list(inf = inf, bj = bj)
  })
  if (!is.null(res$error)) return(list(error = res$error, warnings = res$warnings))
  inf <- res$value$inf
  list(rstudent = as.numeric(inf$inf$rstudent), dffits = as.numeric(inf$inf$dffits),
       cook_d = as.numeric(inf$inf$cook.d), cov_r = as.numeric(inf$inf$cov.r),
       tau2_del = as.numeric(inf$inf$tau2.del), q_del = as.numeric(inf$inf$QE.del),
       hat = as.numeric(inf$inf$hat), weight = as.numeric(inf$inf$weight),
       dfbetas = as.numeric(inf$dfbs$intrcpt), influential = as.logical(inf$is.infl),
       baujat_x = as.numeric(res$value$bj$x), baujat_y = as.numeric(res$value$bj$y),
       error = NULL, warnings = res$warnings)
}

# Trim and fill: trimfill() with the estimator of k0 and, when given, the side
# (side = "" lets metafor choose it from the slope of a meta-regression on
# sqrt(vi)); every rma() inside runs with mb_control.  The augmented fit's
# numbers, k0 and its SE, and the filled studies' yi and vi.
mb_trimfill <- function(yi, vi, method, level, side, estimator) {
  as_metafor <- mb_level(level)
  at <- if (is.na(as_metafor)) 95 else as_metafor  # the augmented fit's level (as mb_fit)
  res <- mb_capture({
    fit <- mb_fit(yi, vi, method, level)
    if (nzchar(side)) {
      trimfill(fit, side = side, estimator = estimator, control = mb_control(yi, vi),
               level = at)
    } else {
      trimfill(fit, estimator = estimator, control = mb_control(yi, vi), level = at)
    }
  })
  if (!is.null(res$error)) return(list(error = res$error, warnings = res$warnings))
  tf <- res$value
  filled <- which(tf$fill)
  c(mb_fit_numbers(tf, level),
    list(k0 = as.integer(tf$k0), se_k0 = as.numeric(tf$se.k0), side = tf$side,
         p_k0 = if (is.null(tf$p.k0)) NA_real_ else as.numeric(tf$p.k0),
         filled_yi = as.numeric(tf$yi[filled]), filled_vi = as.numeric(tf$vi[filled]),
         error = NULL, warnings = res$warnings))
}

# Egger-type test with another predictor (metafor's regtest(predictor =)): "ni",
# "ninv", "sqrtninv" use the sample sizes `ni`; "sei" and "vi" do not.
mb_regtest_on <- function(yi, vi, ni, model, predictor, method = "REML") {
  res <- mb_capture({
    fit <- rma(yi = yi, vi = vi, ni = ni, method = method, control = mb_control(yi, vi))
    regtest(fit, model = model, predictor = predictor)
  })
  mb_regtest_result(res)
}
