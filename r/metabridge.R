# metabridge's R side: thin wrappers around metafor that return plain lists of
# numbers and strings, so that no R object crosses into Python.
#
# Loaded once per Python process by src/metabridge/backends/metafor.py (through
# rpy2); also usable on its own:  Rscript -e 'source("r/metabridge.R"); str(mb_rma(...))'
#
# Every wrapper returns list(error = <message or NULL>, warnings = <character>, ...).

suppressPackageStartupMessages(library(metafor))

# Iterative estimators run to tight tolerances (convention "metafor.tolerance").
mb_control <- list(threshold = 1e-10, tol = 1e-12, maxiter = 1000)

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

# The numbers of a fitted rma.uni model that PoolResult needs (with predict()'s
# prediction interval for random-effects models).
mb_fit_numbers <- function(fit) {
  k <- fit$k
  pred <- if (fit$tau2.fix || fit$method %in% c("FE", "EE", "CE")) NULL else predict(fit)
  list(pi_lb = if (is.null(pred)) NA_real_ else as.numeric(pred$pi.lb),
       pi_ub = if (is.null(pred)) NA_real_ else as.numeric(pred$pi.ub),estimate = as.numeric(coef(fit)), se = as.numeric(fit$se),
       ci_lb = as.numeric(fit$ci.lb), ci_ub = as.numeric(fit$ci.ub),
       zval = as.numeric(fit$zval), pval = as.numeric(fit$pval),
       tau2 = as.numeric(fit$tau2), i2 = as.numeric(fit$I2), h2 = as.numeric(fit$H2),
       q = as.numeric(fit$QE), q_p = as.numeric(fit$QEp), k = as.integer(k),
       weights = as.numeric(weights(fit)), test = fit$test,
       converged = TRUE)
}

# One random- or fixed-effects model: rma(yi, vi, method, level, test).
mb_rma <- function(yi, vi, method, level, test = "z") {
  res <- mb_capture(rma(yi = yi, vi = vi, method = method, level = 100 * level,
                        test = test, control = mb_control))
  if (!is.null(res$error)) {
    return(list(error = res$error, warnings = res$warnings))
  }
  out <- mb_fit_numbers(res$value)
  out$converged <- !any(grepl("converge", res$warnings, ignore.case = TRUE))
  c(out, list(error = NULL, warnings = res$warnings))
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
mb_subgroups_separate <- function(yi, vi, group, method, level, test = "z") {
  groups <- unique(group)
  fits <- lapply(groups, function(g) {
    in_g <- group == g
    mb_rma(yi[in_g], vi[in_g], if (sum(in_g) > 1) method else "FE", level, test)
  })
  names(fits) <- groups
  failed <- Filter(function(f) !is.null(f$error), fits)
  if (length(failed) > 0) return(list(error = failed[[1]]$error, warnings = character()))
  est <- vapply(fits, function(f) f$estimate, numeric(1))
  se <- vapply(fits, function(f) f$se, numeric(1))
  between <- rma(yi = est, sei = se, method = "FE")
  list(groups = groups, fits = fits,
       between = list(q = as.numeric(between$QE), df = length(groups) - 1L,
                      q_p = as.numeric(between$QEp)),
       error = NULL, warnings = character())
}

# Subgroups with a common tau^2 (metafor's mixed-effects model): the omnibus
# test of the factor moderator, QM on G - 1 df.
mb_subgroups_common <- function(yi, vi, group, method, level, test = "z") {
  res <- mb_capture(rma(yi = yi, vi = vi, mods = ~ factor(group, levels = unique(group)),
                        method = method, level = 100 * level, test = test,
                        control = mb_control))
  if (!is.null(res$error)) return(list(error = res$error, warnings = res$warnings))
  fit <- res$value
  list(qm = as.numeric(fit$QM), qm_df = as.integer(fit$QMdf[1]), qm_p = as.numeric(fit$QMp),
       tau2 = as.numeric(fit$tau2), qe = as.numeric(fit$QE), qe_p = as.numeric(fit$QEp),
       error = NULL, warnings = res$warnings)
}

# Funnel-plot asymmetry: regtest() with a given model ("lm" = classic Egger,
# "rma" = metafor's default meta-regression test) and predictor "sei".
mb_regtest <- function(yi, vi, model, method = "REML") {
  res <- mb_capture({
    fit <- rma(yi = yi, vi = vi, method = method, control = mb_control)
    regtest(fit, model = model, predictor = "sei")
  })
  if (!is.null(res$error)) return(list(error = res$error, warnings = res$warnings))
  rt <- res$value
  # With predictor "sei" the coefficient of sei is Egger's intercept (bias) and
  # the intercept of this model is the limit estimate (Egger's slope).
  list(statistic = as.numeric(rt$zval),
       df = if (is.null(rt$dfs)) NA_real_ else as.numeric(rt$dfs),
       p = as.numeric(rt$pval), bias = as.numeric(coef(rt$fit)[2]),
       bias_se = as.numeric(sqrt(diag(vcov(rt$fit)))[2]),
       limit = as.numeric(rt$est), error = NULL, warnings = res$warnings)
}

# Begg & Mazumdar rank correlation test: ranktest().
mb_ranktest <- function(yi, vi, method = "REML") {
  res <- mb_capture({
    fit <- rma(yi = yi, vi = vi, method = method, control = mb_control)
    ranktest(fit)
  })
  if (!is.null(res$error)) return(list(error = res$error, warnings = res$warnings))
  list(tau = as.numeric(res$value$tau), p = as.numeric(res$value$pval),
       error = NULL, warnings = res$warnings)
}

# A batch of independent meta-analyses (one per row of the reps x k matrices
# y and v), fitted in one call from Python: the simulation path.  A replicate
# whose fit fails gives NA and its message; nothing else is lost.
mb_rma_batch <- function(y, v, k, method, level, test = "z") {
  y <- matrix(y, ncol = k, byrow = TRUE)
  v <- matrix(v, ncol = k, byrow = TRUE)
  reps <- nrow(y)
  out <- matrix(NA_real_, nrow = reps, ncol = 3)
  failures <- character()
  for (i in seq_len(reps)) {
    fit <- tryCatch(
      suppressWarnings(rma.uni(yi = y[i, ], vi = v[i, ], method = method, level = 100 * level,
                               test = test, control = mb_control)),
      error = function(e) conditionMessage(e))
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
mb_confint <- function(yi, vi, method, level) {
  res <- mb_capture({
    fit <- rma(yi = yi, vi = vi, method = method, control = mb_control)
    confint(fit, level = 100 * level, control = list(tol = 1e-12, maxiter = 1000))$random
  })
  if (!is.null(res$error)) return(list(error = res$error, warnings = res$warnings))
  ci <- res$value
  list(estimate_ci = as.numeric(ci[, 1]), ci_lb_ci = as.numeric(ci[, 2]),
       ci_ub_ci = as.numeric(ci[, 3]), error = NULL, warnings = res$warnings)
}
