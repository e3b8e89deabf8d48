"""Peak memory of metafor fits against k: the figures behind metafor.PEAK_MATRICES.

    python validation/metafor_memory.py                    # the default grid below
    python validation/metafor_memory.py --k 500 1000 --methods DL REML

Each (model, method, k) runs in a fresh ``Rscript``: metafor is loaded and warmed
up on 10 studies, then one fit on k studies runs as metabridge runs it (rma()
with metabridge's control, predict() and weights(); or the mixed-effects
subgroup model ``mods = ~ factor(group)`` with 3 groups).  The peak resident set
(VmHWM) above the warmed-up process is printed in MB and in k x k double matrices
(8 k^2 bytes), next to metabridge's estimate (``peak_bytes``).  Printed, never
asserted; keep k <= 3000 (REML on k = 2000 takes minutes: it is O(k^3) per step).
"""

from __future__ import annotations

import argparse
import shutil
import subprocess

from metabridge.backends.metafor import peak_bytes

SCRIPT = r"""
args <- commandArgs(TRUE)
k <- as.integer(args[1]); method <- args[2]; model <- args[3]
suppressPackageStartupMessages(library(metafor))
hwm <- function() {
  s <- readLines("/proc/self/status")
  as.numeric(gsub("[^0-9]", "", s[grepl("^VmHWM", s)])) * 1024
}
set.seed(1); yi <- rnorm(k); vi <- runif(k, 0.01, 0.2); g <- rep(1:3, length.out = k)
ctrl <- list(threshold = 1e-10, tol = 1e-12, maxiter = 1000)
invisible(predict(rma(yi[1:10], vi[1:10], method = method, control = ctrl)))
base <- hwm()
t0 <- proc.time()[3]
if (model == "rma") {
  fit <- rma(yi, vi, method = method, control = ctrl)
  out <- list(if (method != "FE") predict(fit), weights(fit))
} else {
  fit <- rma(yi, vi, mods = ~ factor(g), method = method, control = ctrl)
}
cat(hwm() - base, proc.time()[3] - t0, "\n")
"""

GRID = [("rma", "FE", 3000), ("rma", "DL", 3000), ("rma", "REML", 1000),
        ("rma", "REML", 2000), ("rma", "ML", 1500), ("rma", "EB", 2000),
        ("mods", "DL", 2000), ("mods", "REML", 1000)]


def measure(model: str, method: str, k: int) -> tuple[float, float]:
    """(peak bytes above the warmed-up R, seconds) of one fit in a fresh Rscript."""
    out = subprocess.run(
        ["Rscript", "-e", SCRIPT, str(k), method, model],
        capture_output=True, text=True, check=True,
    )
    peak, seconds = (float(x) for x in out.stdout.split())
    return peak, seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--k", type=int, nargs="+", help="numbers of studies (<= 3000)")
    parser.add_argument("--methods", nargs="+", default=["DL", "REML"])
    parser.add_argument("--model", default="rma", choices=("rma", "mods"))
    args = parser.parse_args()
    if shutil.which("Rscript") is None:
        raise SystemExit("Rscript not found: install R and metafor")
    grid = ([(args.model, m, k) for m in args.methods for k in args.k] if args.k else GRID)
    if any(k > 3000 for _, _, k in grid):
        raise SystemExit("k > 3000 would allocate gigabytes on a shared machine; refusing")
    print(f"{'model':6} {'method':6} {'k':>5} {'peak MB':>9} {'k x k':>7} "
          f"{'estimate MB':>12} {'seconds':>8}")
    for model, method, k in grid:
        peak, seconds = measure(model, method, k)
        print(f"{model:6} {method:6} {k:5d} {peak / 1e6:9.1f} {peak / (8 * k * k):7.1f} "
              f"{peak_bytes(k, method, model) / 1e6:12.1f} {seconds:8.1f}")


if __name__ == "__main__":
    main()
