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

# The numbers of a fitted rma.uni model that PoolResult needs.
mb_fit_numbers <- function(fit) {
  k <- fit$k
  list(estimate = as.numeric(coef(fit)), se = as.numeric(fit$se),
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
  c(mb_fit_numbers(res$value), list(error = NULL, warnings = res$warnings))
}
