# Regenerates tests/reference/metafor_raw_reference.csv: metafor's effect sizes and
# pooled results from raw data (2x2 counts; means and SDs), so that the Python tests
# check every engine against metafor without R installed.
#
#   Rscript validation/metafor_raw_reference.R
#
# Effect sizes are escalc() with its defaults (add = 1/2, to = "only0", drop00 = FALSE;
# vtype = "LS"); pooled results use the wrappers of r/metabridge.R, as the metafor
# backend does.  Values are written with 17 significant digits.

source("r/metabridge.R")

read_counts <- function(path, ai, n1i, ci, n2i) {
  d <- read.csv(path, comment.char = "#")
  list(kind = "counts", ai = d[[ai]], n1i = d[[n1i]], ci = d[[ci]], n2i = d[[n2i]])
}
bcg <- read.csv("src/metabridge/datasets/bcg.csv")
normand <- read.csv("src/metabridge/datasets/normand1999.csv")
datasets <- list(
  bcg = list(kind = "counts", ai = bcg$tpos, n1i = bcg$tpos + bcg$tneg, ci = bcg$cpos,
             n2i = bcg$cpos + bcg$cneg),
  li2007 = read_counts("src/metabridge/datasets/li2007.csv", "ai", "n1i", "ci", "n2i"),
  zero_cells = read_counts("tests/reference/zero_cells.csv", "events_exp", "total_exp",
                           "events_ctrl", "total_ctrl"),
  normand1999 = list(kind = "means", m1i = normand$m1i, sd1i = normand$sd1i,
                     n1i = normand$n1i, m2i = normand$m2i, sd2i = normand$sd2i,
                     n2i = normand$n2i)
)
measures <- list(counts = c("OR", "RR", "RD"), means = c("MD", "SMD"))

effect_sizes <- function(d, measure) {
  if (d$kind == "counts") {
    escalc(measure, ai = d$ai, n1i = d$n1i, ci = d$ci, n2i = d$n2i)
  } else {
    escalc(measure, m1i = d$m1i, sd1i = d$sd1i, n1i = d$n1i, m2i = d$m2i, sd2i = d$sd2i,
           n2i = d$n2i)
  }
}

rows <- list()
add <- function(dataset, measure, analysis, statistic, values) {
  rows[[length(rows) + 1]] <<- data.frame(
    dataset = dataset, measure = measure, analysis = analysis, statistic = statistic,
    study = if (length(values) > 1) seq_along(values) else NA,
    value = sprintf("%.17g", values))
}
stats <- c("estimate", "se", "ci_lb", "ci_ub", "zval", "pval", "tau2", "i2", "h2", "q", "q_p")

for (name in names(datasets)) {
  d <- datasets[[name]]
  for (measure in measures[[d$kind]]) {
    es <- effect_sizes(d, measure)
    add(name, measure, "escalc", "yi", as.numeric(es$yi))
    add(name, measure, "escalc", "vi", as.numeric(es$vi))
    for (method in c("FE", "DL", "REML")) {
      fit <- mb_rma(as.numeric(es$yi), as.numeric(es$vi), method, 0.95)
      if (!is.null(fit$error)) stop(name, " ", measure, " ", method, ": ", fit$error)
      for (s in stats) add(name, measure, paste0("rma.", method), s, fit[[s]])
    }
  }
}

# Conventions of other engines applied to metafor's own effect sizes, then pooled by
# rma() (the checks of conventions.py rows): RevMan's Hedges' g (approximate bias
# correction 1 - 3 / (4 N - 9), variance N / (n1 n2) + g^2 / (2 (N - 3.94)); PythonMeta,
# statsmodels), and tables left out: double-zero tables (PythonMeta) or tables without
# events in either arm (pimeta's escalc drop00).
pool_variant <- function(name, measure, variant, yi, vi) {
  for (method in c("FE", "DL", "REML")) {
    fit <- mb_rma(yi, vi, method, 0.95)
    if (!is.null(fit$error)) stop(name, " ", measure, " ", variant, ": ", fit$error)
    for (s in stats) add(name, measure, paste0("rma.", method, ".", variant), s, fit[[s]])
  }
}
normand_smd <- effect_sizes(datasets$normand1999, "SMD")
total <- normand$n1i + normand$n2i
exact_j <- exp(lgamma((total - 2) / 2) - log(sqrt((total - 2) / 2)) - lgamma((total - 3) / 2))
g <- as.numeric(normand_smd$yi) * (1 - 3 / (4 * total - 9)) / exact_j
pool_variant("normand1999", "SMD", "revman_smd", g,
             total / (normand$n1i * normand$n2i) + g^2 / (2 * (total - 3.94)))
zc <- datasets$zero_cells
no_events <- zc$ai == 0 & zc$ci == 0
double_zero <- no_events | (zc$ai == zc$n1i & zc$ci == zc$n2i)
for (measure in measures$counts) {
  es <- effect_sizes(zc, measure)
  pool_variant("zero_cells", measure, "without_double_zero", as.numeric(es$yi)[!double_zero],
               as.numeric(es$vi)[!double_zero])
  pool_variant("zero_cells", measure, "without_no_events", as.numeric(es$yi)[!no_events],
               as.numeric(es$vi)[!no_events])
}

# Mantel-Haenszel and Peto on the 2x2 tables: metafor's defaults, and with RevMan's
# zero-cell rule applied to the tables (1/2 added to the cells of zero-cell tables,
# double-zero tables dropped; convention "pythonmeta.mh_zero_cells").
fixed_stats <- c("estimate", "se", "ci_lb", "ci_ub", "zval", "pval", "q", "q_p", "i2", "h2",
                 "k_yi")
add_fit <- function(name, measure, analysis, fit) {
  if (!is.null(fit$error)) stop(name, " ", analysis, ": ", fit$error)
  for (s in fixed_stats) add(name, measure, analysis, s, fit[[s]])
  for (s in c("yi", "vi", "weights")) add(name, measure, analysis, s, fit[[s]])
}
for (name in names(datasets)) {
  d <- datasets[[name]]
  if (d$kind != "counts") next
  cells <- list(ai = d$ai, bi = d$n1i - d$ai, ci = d$ci, di = d$n2i - d$ci)
  for (variant in c("", ".revman")) {
    add_tables <- if (variant == "") 0 else 1/2
    for (measure in measures$counts) {
      fit <- suppressWarnings(mb_rma_mh(cells$ai, cells$bi, cells$ci, cells$di, measure, 0.95,
                                        add_tables, add_tables > 0))
      add_fit(name, measure, paste0("rma.mh", variant), fit)
    }
    fit <- suppressWarnings(mb_rma_peto(cells$ai, cells$bi, cells$ci, cells$di, 0.95,
                                        add_tables, add_tables > 0))
    add_fit(name, "OR", paste0("rma.peto", variant), fit)
  }
}

out <- do.call(rbind, rows)
out$study[is.na(out$study)] <- ""
con <- file("tests/reference/metafor_raw_reference.csv", "w")
writeLines(c(
  sprintf("# metafor %s, R %s; generated by validation/metafor_raw_reference.R",
          mb_versions()$metafor, mb_versions()$R),
  "# escalc() defaults; rma(yi, vi, method, control = mb_control(yi, vi)) (r/metabridge.R)"),
  con)
write.csv(out, con, row.names = FALSE, quote = FALSE)
close(con)
cat("wrote", nrow(out), "rows to tests/reference/metafor_raw_reference.csv\n")
