# Generator of delong_paired.csv and of the pROC figures copied into
# TestDeLongPairedPROC (delong_paired_test.go). Run from predictors/testdata:
#   Rscript delong_paired.R
# (R 4.2.2, pROC 1.18.0). Scores are rounded to 0.1, so the data hold ties.
suppressMessages(library(pROC))
set.seed(20261129)
n <- 80
y <- rbinom(n, 1, 0.45)
s1 <- round(0.8 * y + rnorm(n), 1)
s2 <- round(0.6 * s1 + 0.5 * y + rnorm(n, 0, 0.8), 1)
s3 <- round(0.1 * y + 0.5 * s1 + rnorm(n, 0, 1.5), 1)
write.csv(data.frame(y = y, s1 = s1, s2 = s2, s3 = s3), "delong_paired.csv", row.names = FALSE, quote = FALSE)
roc1 <- function(s) roc(y, s, levels = c(0, 1), direction = "<", quiet = TRUE)
for (pair in list(c("s1", "s2"), c("s1", "s3"))) {
  for (lev in c(0.95, 0.90)) {
    t <- roc.test(roc1(get(pair[1])), roc1(get(pair[2])), paired = TRUE, method = "delong", conf.level = lev)
    cat(sprintf("{\"%s\", \"%s\", %.2f, %.17g, %.17g, %.17g, %.17g, %.17g, %.17g},\n", pair[1], pair[2], lev,
      t$estimate[1], t$estimate[2], t$statistic, t$p.value, t$conf.int[1], t$conf.int[2]))
  }
}
