"""Prints the comparison table from the JSON files compare.sh writes into a
results directory: <tool>_<n>.json for each tool and size, data_<n>.json from
gendata. Standard library only. Usage: python3 report.py RESULTS_DIR

Ratio = theirs / ours, so a ratio above 1 means Spinecast is faster. The
wall-clock ratio is the one the targets use; the CPU-time ratio (user +
system seconds of all threads) is printed next to it because on a shared
machine waiting for a core inflates wall time but not CPU time.
"""

import glob
import json
import os
import re
import sys


def load(d):
    res = {}
    for path in glob.glob(os.path.join(d, "*.json")):
        m = re.fullmatch(r"(.+)_(\d+)\.json", os.path.basename(path))
        if not m:
            continue
        try:
            with open(path) as f:
                res.setdefault(int(m.group(2)), {})[m.group(1)] = json.load(f)
        except (OSError, ValueError) as e:
            print(f"warning: {path}: {e}", file=sys.stderr)
    return res


def fmt(v, unit):
    if v is None:
        return "—"
    if unit == "s":
        return f"{v:.3f} s" if v < 10 else f"{v:.1f} s"
    if unit == "us":
        return f"{v:.2f} µs" if v < 100 else f"{v:,.0f} µs"
    return f"{v:.4f}"


def table(rows, header):
    w = [max(len(str(r[i])) for r in rows + [header]) for i in range(len(header))]
    line = lambda r: "| " + " | ".join(str(c).ljust(w[i]) for i, c in enumerate(r)) + " |"
    out = [line(header), "|" + "|".join("-" * (x + 2) for x in w) + "|"]
    out += [line(r) for r in rows]
    return "\n".join(out)


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    res = load(sys.argv[1])
    if not res:
        sys.exit("no results in " + sys.argv[1])
    targets = []
    for n in sorted(res):
        r = res[n]
        ours = r.get("spinecast", {})
        data = r.get("data", {})
        print(f"\n## n = {n:,} training rows × {data.get('features', ours.get('features', '?'))} features"
              f" (test: {data.get('test_rows', '?'):,} rows; oracle test AUC {fmt(data.get('oracle_test_auc'), '')})\n")
        rows = []

        def add(task, key, unit, tool, their_key=None):
            o = ours.get(key)
            t = r.get(tool, {})
            th = t.get(their_key or key)
            name = t.get("tool", tool)
            err = t.get("error") or t.get("skipped")
            if err:
                theirs = ("not run: " if t.get("skipped") else "failed: ") + err.splitlines()[0][:70]
                rows.append([task, fmt(o, unit), name, theirs, "—", ""])
                return None
            ratio = th / o if (o and th) else None
            cpu = ""
            cpu_key = lambda k: k[: -len("_s")] + "_cpu_s"
            oc = ours.get(cpu_key(key)) if unit == "s" else None
            tc = t.get(cpu_key(their_key or key)) if unit == "s" else None
            if oc and tc:
                cpu = f"{oc:.2f} / {tc:.2f} s = {tc / oc:.2f}×"
            rows.append([task, fmt(o, unit), name, fmt(th, unit), f"{ratio:.2f}×" if ratio else "—", cpu])
            return ratio

        rg = add("elastic-net path fit (α=0.5, 100 λ)", "enet_path_fit_s", "s", "glmnet")
        rr = add("forest fit (500 trees, 2 threads)", "forest_fit_s", "s", "ranger")
        add("forest fit (500 trees, 2 threads)", "forest_fit_s", "s", "ranger_minnode1")
        add("forest fit (500 trees, 2 threads)", "forest_fit_s", "s", "sklearn")
        add("forest fit (500 trees, 2 threads)", "forest_fit_s", "s", "golearn")
        add("forest predict, all training rows", "forest_predict_s", "s", "ranger")
        add("forest predict, all training rows", "forest_predict_s", "s", "ranger_minnode1")
        rs = add("forest predict, all training rows", "forest_predict_s", "s", "sklearn")
        add("forest predict, all training rows", "forest_predict_s", "s", "golearn")
        add("forest predict, one row (sklearn n_jobs=2)", "forest_predict_one_us", "us", "sklearn")
        add("forest predict, one row (sklearn n_jobs=1)", "forest_predict_one_us", "us", "sklearn",
            "forest_predict_one_njobs1_us")
        rows.append(["elastic net: one row + explanation", fmt(ours.get("enet_predict_explain_us"), "us"), "(target)", "< 20 µs", "—", ""])
        rows.append(["elastic net: one row, no explanation", fmt(ours.get("enet_predict_one_us"), "us"), "", "", "", ""])
        rows.append(["forest: one row + TreeSHAP", fmt(ours.get("forest_predict_explain_us"), "us"), "(target)", "< 1,000 µs", "—", ""])
        print(table(rows, ["task", "ours", "theirs", "theirs' time", "ratio theirs/ours (wall)", "CPU ours / theirs = ratio"]))

        print("\nPredictive sanity (AUC on the held-out rows; labels-only tools give the AUC of 0/1 labels):\n")
        srows = []
        for key, label in [("spinecast", "enet"), ("glmnet", "enet"), ("spinecast", "forest"), ("ranger", "forest"),
                           ("ranger_minnode1", "forest"), ("sklearn", "forest"), ("golearn", "forest")]:
            t = r.get(key)
            if not t or t.get("skipped") or t.get("error"):
                continue
            pre = "enet" if label == "enet" else "forest"
            extra = []
            if label == "forest":
                if t.get("forest_mean_nodes_per_tree"):
                    extra.append(f"{t['forest_mean_nodes_per_tree']:,.0f} nodes/tree")
                if t.get("forest_min_node_size"):
                    extra.append(f"min.node.size {t['forest_min_node_size']}")
                if t.get("forest_test_accuracy") is not None:
                    extra.append(f"test accuracy {t['forest_test_accuracy']:.4f}")
                if t.get("forest_train_accuracy") is not None:
                    extra.append(f"train accuracy {t['forest_train_accuracy']:.4f}")
            else:
                extra.append(f"{t.get('enet_path_lambdas')} λ, smallest λ {t.get('enet_last_lambda', 0):.3g}")
            srows.append([t.get("tool", key), label, fmt(t.get(pre + "_test_auc"), ""),
                          fmt(t.get(pre + "_train_auc"), "") if t.get(pre + "_train_auc") else "—", "; ".join(extra)])
        print(table(srows, ["tool", "model", "test AUC", "train AUC", "notes"]))

        g = r.get("glmnet")
        if ours.get("enet_last_coef") and g and g.get("enet_last_coef"):
            diff = max(abs(a - b) for a, b in zip(ours["enet_last_coef"], g["enet_last_coef"]))
            print(f"\nElastic net vs glmnet at the smallest λ of the path: λ {ours['enet_last_lambda']:.6g} vs "
                  f"{g['enet_last_lambda']:.6g}; max |coef diff| {diff:.2e}; intercept diff "
                  f"{abs(ours['enet_last_intercept'] - g['enet_last_intercept']):.2e}; dev.ratio "
                  f"{ours['enet_last_dev_ratio']:.6f} vs {g['enet_last_dev_ratio']:.6f}; path lengths "
                  f"{ours['enet_path_lambdas']} vs {g['enet_path_lambdas']}.")
            print(f"Elastic-net path fit, every repetition (s): ours {ours.get('enet_path_fit_all_s')}, "
                  f"glmnet {g.get('enet_path_fit_all_s')}")
        sk = r.get("sklearn")
        if ours.get("forest_predict_all_s") or (sk and sk.get("forest_predict_all_s")):
            print(f"Forest batch predict, every repetition (s): ours {ours.get('forest_predict_all_s')}, "
                  f"scikit-learn {sk.get('forest_predict_all_s') if sk else None}")
        if ours.get("forest_explain_max_additivity_error") is not None:
            print(f"Explanation additivity |base + Σφ − f(x)|, largest over the timed rows: elastic net "
                  f"{ours.get('enet_explain_max_additivity_error'):.1e} ({ours.get('enet_single_rows')} rows), forest "
                  f"{ours.get('forest_explain_max_additivity_error'):.1e} ({ours.get('forest_single_rows')} rows)")

        def verdict(ok):
            return "n/a" if ok is None else ("MET" if ok else "MISSED")

        targets.append((n, "elastic-net path fit no slower than glmnet", verdict(None if rg is None else rg >= 1),
                        f"ratio {rg:.2f}×" if rg else "glmnet not run"))
        targets.append((n, "forest fit no slower than ranger (defaults)", verdict(None if rr is None else rr >= 1),
                        f"ratio {rr:.2f}×" if rr else "ranger not run"))
        targets.append((n, "forest batch scoring ≥ 5× sklearn predict_proba", verdict(None if rs is None else rs >= 5),
                        f"ratio {rs:.2f}×" if rs else "sklearn not run"))
        e = ours.get("enet_predict_explain_us")
        targets.append((n, "elastic net one row + explanation < 20 µs", verdict(None if e is None else e < 20),
                        fmt(e, "us")))
        f = ours.get("forest_predict_explain_us")
        targets.append((n, "forest one row + explanation < 1 ms", verdict(None if f is None else f < 1000),
                        fmt(f, "us")))
    print("\n## Targets (issue 2)\n")
    print(table([[f"{n:,}", t, v, fig] for n, t, v, fig in targets], ["rows", "target", "verdict", "measured"]))


if __name__ == "__main__":
    main()
