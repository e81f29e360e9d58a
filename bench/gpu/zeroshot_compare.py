# Compares `lors eval-tasks --samples FILE` with a golden file of zeroshot_golden.py (mode "bos" by default):
# per-choice log-likelihoods within 1e-4 relative and the same pred / pred_norm on every item of every task.
# Usage: python3 bench/gpu/zeroshot_compare.py GOLDEN.json SAMPLES.jsonl [MODE=bos]; exit code 0 when all agree.
import json, sys

golden = json.load(open(sys.argv[1], encoding="utf-8"))["modes"][sys.argv[3] if len(sys.argv) > 3 else "bos"]
ours = [json.loads(l) for l in open(sys.argv[2], encoding="utf-8") if l.strip()]
worst, bad, n = 0.0, [], 0
for o in ours:
    g = golden[o["task"]][o["doc"]]
    for k, (a, b) in enumerate(zip(o["loglikelihoods"], g["loglikelihoods"])):
        rel = abs(a - b) / max(abs(b), 1e-12)
        worst = max(worst, rel)
        if rel > 1e-4:
            bad.append(f"{o['task']} doc {o['doc']} choice {k}: ours {a}, transformers {b}, rel {rel:.2e}")
    for key in ("gold", "pred", "pred_norm"):
        if o[key] != g[key]:
            bad.append(f"{o['task']} doc {o['doc']}: {key} ours {o[key]}, transformers {g[key]}")
    n += 1
print(json.dumps({"items": n, "max_rel_diff": worst, "disagreements": len(bad), "ok": n > 0 and not bad}))
for b in bad[:20]:
    print(b)
sys.exit(0 if n > 0 and not bad else 1)
