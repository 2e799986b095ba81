"""Times scikit-learn's RandomForestClassifier(n_estimators=500, n_jobs=2)
(other arguments at their defaults: max_features="sqrt", min_samples_leaf=1,
bootstrap=True) on a CSV from gendata: fit, predict_proba of every training
row (the median of three passes; wall-clock and process CPU seconds, all
threads), and the median time
of predict_proba on one row (over 50 rows, with
n_jobs=2 and again with n_jobs=1).

Usage: /usr/bin/python3 sklearn_rf.py train.csv test.csv out.json
"""

import gc
import json
import statistics
import sys
import time

import numpy as np
import sklearn
from sklearn.ensemble import RandomForestClassifier
from sklearn.metrics import roc_auc_score


def load(path):
    d = np.loadtxt(path, delimiter=",", skiprows=1)
    return np.ascontiguousarray(d[:, :-1]), d[:, -1].astype(int)


def main():
    if len(sys.argv) != 4:
        sys.exit(__doc__)
    x, y = load(sys.argv[1])
    xt, yt = load(sys.argv[2])
    rf = RandomForestClassifier(n_estimators=500, n_jobs=2, random_state=1)
    gc.collect()
    c0, t0 = time.process_time(), time.perf_counter()
    rf.fit(x, y)
    fit_s, fit_cpu = time.perf_counter() - t0, time.process_time() - c0
    pred_all, pred_cpus = [], []
    for _ in range(3):  # the median of three, as spinebench
        gc.collect()
        c0, t0 = time.process_time(), time.perf_counter()
        p = rf.predict_proba(x)[:, 1]
        pred_all.append(time.perf_counter() - t0)
        pred_cpus.append(time.process_time() - c0)
    pred_s, pred_cpu = statistics.median(pred_all), statistics.median(pred_cpus)
    step = max(1, len(x) // 50)

    def one_row():
        times = []
        for i in range(0, min(len(x), 50 * step), step):
            row = x[i : i + 1]
            t0 = time.perf_counter()
            rf.predict_proba(row)
            times.append((time.perf_counter() - t0) * 1e6)
        return times

    one = one_row()  # n_jobs=2, as fitted
    rf.set_params(n_jobs=1)  # no thread-pool start-up: the fairer single-row figure
    one1 = one_row()
    out = {
        "tool": "scikit-learn " + sklearn.__version__,
        "rows": len(x),
        "forest_trees": rf.n_estimators,
        "forest_mtry": rf.estimators_[0].max_features_,
        "forest_fit_s": fit_s,
        "forest_fit_cpu_s": fit_cpu,
        "forest_predict_s": pred_s,
        "forest_predict_all_s": pred_all,
        "forest_predict_cpu_s": pred_cpu,
        "forest_predict_one_us": statistics.median(one),
        "forest_predict_one_njobs1_us": statistics.median(one1),
        "forest_single_rows": len(one),
        "forest_mean_nodes_per_tree": float(np.mean([e.tree_.node_count for e in rf.estimators_])),
        "forest_train_auc": roc_auc_score(y, p),
        "forest_test_auc": roc_auc_score(yt, rf.predict_proba(xt)[:, 1]),
    }
    with open(sys.argv[3], "w") as f:
        json.dump(out, f, indent=2)
        f.write("\n")


if __name__ == "__main__":
    main()
