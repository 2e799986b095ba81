# Times glmnet's elastic-net path, glmnet(x, y, family = "binomial",
# alpha = 0.5) with every other argument at its default (nlambda = 100,
# lambda.min.ratio = 1e-4 when n >= p, thresh = 1e-7, standardize = TRUE),
# on a CSV from gendata. Usage:
#   Rscript glmnet.R train.csv test.csv out.json [reps]
# Writes one JSON object: the median elapsed and CPU (user + system) seconds
# of `reps` fits (system.time), the path length, the largest and smallest lambda, the
# coefficients at the smallest lambda and the test AUC of that model.
suppressPackageStartupMessages(library(glmnet))
args <- commandArgs(trailingOnly = TRUE)
if (length(args) < 3) stop("usage: Rscript glmnet.R train.csv test.csv out.json [reps]")
reps <- if (length(args) >= 4) as.integer(args[4]) else 3L

read <- function(path) {
  d <- as.matrix(read.csv(path))
  list(x = d[, -ncol(d)], y = d[, ncol(d)])
}
tr <- read(args[1])
te <- read(args[2])

auc <- function(score, y) { # Mann-Whitney, ties counted one half
  r <- rank(score)
  n1 <- as.numeric(sum(y == 1)); n0 <- as.numeric(sum(y == 0)) # doubles: n1 * n0 overflows int
  (sum(r[y == 1]) - n1 * (n1 + 1) / 2) / (n1 * n0)
}

times <- numeric(reps)
cpu <- numeric(reps)
for (i in seq_len(reps)) {
  invisible(gc())
  st <- system.time(fit <- glmnet(tr$x, tr$y, family = "binomial", alpha = 0.5))
  times[i] <- st[["elapsed"]]
  cpu[i] <- st[["user.self"]] + st[["sys.self"]]
}
k <- length(fit$lambda)
beta <- as.numeric(fit$beta[, k])
p <- as.numeric(predict(fit, newx = te$x, s = fit$lambda[k], type = "response"))
num <- function(v) paste(ifelse(is.na(v), "null", formatC(v, digits = 17, format = "g")), collapse = ", ")
json <- paste0("{\n",
  '  "tool": "glmnet ', as.character(packageVersion("glmnet")), '",\n',
  '  "rows": ', nrow(tr$x), ",\n",
  '  "enet_path_fit_s": ', num(median(times)), ",\n",
  '  "enet_path_fit_all_s": [', num(times), "],\n",
  '  "enet_path_fit_cpu_s": ', num(median(cpu)), ",\n",
  '  "enet_path_lambdas": ', k, ",\n",
  '  "enet_lambda_max": ', num(fit$lambda[1]), ",\n",
  '  "enet_last_lambda": ', num(fit$lambda[k]), ",\n",
  '  "enet_last_dev_ratio": ', num(fit$dev.ratio[k]), ",\n",
  '  "enet_last_intercept": ', num(fit$a0[k]), ",\n",
  '  "enet_last_coef": [', num(beta), "],\n",
  '  "enet_test_auc": ', num(auc(p, te$y)), "\n}\n")
writeLines(json, args[3], sep = "")
