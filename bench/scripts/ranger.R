# Times ranger's probability forest, ranger(num.trees = 500,
# probability = TRUE, num.threads = 2) with every other argument at its
# default (mtry = floor(sqrt(p)), min.node.size = 10 for probability forests
# in ranger 0.14), fit and prediction of every training row, on a CSV from
# gendata. Usage:
#   Rscript ranger.R train.csv test.csv out.json [min.node.size]
# With a fourth argument the fit uses that min.node.size instead (1 grows
# trees as deep as Spinecast's MinLeaf = 1 and scikit-learn's defaults).
suppressPackageStartupMessages(library(ranger))
args <- commandArgs(trailingOnly = TRUE)
if (length(args) < 3) stop("usage: Rscript ranger.R train.csv test.csv out.json [min.node.size]")
mns <- if (length(args) >= 4) as.integer(args[4]) else NULL

tr <- read.csv(args[1])
te <- read.csv(args[2])
tr$y <- factor(tr$y, levels = c(0, 1))
x <- tr[, setdiff(names(tr), "y")]

auc <- function(score, y) { # Mann-Whitney, ties counted one half
  r <- rank(score)
  n1 <- as.numeric(sum(y == 1)); n0 <- as.numeric(sum(y == 0)) # doubles: n1 * n0 overflows int
  (sum(r[y == 1]) - n1 * (n1 + 1) / 2) / (n1 * n0)
}

cpu <- function(st) st[["user.self"]] + st[["sys.self"]] # all threads of the R process
invisible(gc())
fit_t <- system.time(rf <- ranger(dependent.variable.name = "y", data = tr, num.trees = 500,
                                  probability = TRUE, num.threads = 2, seed = 1,
                                  min.node.size = mns))
invisible(gc())
pred_t <- system.time(pr <- predict(rf, data = x, num.threads = 2))
train_auc <- auc(pr$predictions[, "1"], as.integer(as.character(tr$y)))
pt <- predict(rf, data = te[, setdiff(names(te), "y")], num.threads = 2)$predictions[, "1"]
nodes <- mean(sapply(rf$forest$child.nodeIDs, function(t) length(t[[1]])))
num <- function(v) if (is.na(v)) "null" else formatC(v, digits = 17, format = "g")
tool <- paste0("ranger ", as.character(packageVersion("ranger")))
if (!is.null(mns)) tool <- paste0(tool, " (min.node.size=", mns, ")")
json <- paste0("{\n",
  '  "tool": "', tool, '",\n',
  '  "rows": ', nrow(tr), ",\n",
  '  "forest_trees": ', rf$num.trees, ",\n",
  '  "forest_mtry": ', rf$mtry, ",\n",
  '  "forest_min_node_size": ', rf$min.node.size, ",\n",
  '  "forest_fit_s": ', num(fit_t[["elapsed"]]), ",\n",
  '  "forest_fit_cpu_s": ', num(cpu(fit_t)), ",\n",
  '  "forest_predict_s": ', num(pred_t[["elapsed"]]), ",\n",
  '  "forest_predict_cpu_s": ', num(cpu(pred_t)), ",\n",
  '  "forest_mean_nodes_per_tree": ', num(nodes), ",\n",
  '  "forest_train_auc": ', num(train_auc), ",\n",
  '  "forest_test_auc": ', num(auc(pt, te$y)), "\n}\n")
writeLines(json, args[3], sep = "")
