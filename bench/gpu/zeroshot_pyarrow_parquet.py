# Writes the zero-shot fixtures (JSON lines) as parquet with pyarrow, as the Hugging Face hub's files are written,
# to OUT/<task>/<split>-00000-of-00001.parquet; `lors eval-tasks --data OUT` must then give the same samples as on the
# JSON lines (the reader is tested here only on files written by Parquet.Net). Where pyarrow is absent, says so.
# Usage: python3 bench/gpu/zeroshot_pyarrow_parquet.py OUT_DIR; then compare two `--samples` files with
#        python3 bench/gpu/zeroshot_pyarrow_parquet.py --diff A.jsonl B.jsonl
import json, os, sys

if sys.argv[1] == "--diff":
    a = [json.loads(l) for l in open(sys.argv[2]) if l.strip()]
    b = [json.loads(l) for l in open(sys.argv[3]) if l.strip()]
    key = lambda s: (s["task"], s["doc"], s["gold"], s["pred"], s["pred_norm"], s["loglikelihoods"])
    same = len(a) == len(b) and all(key(x) == key(y) for x, y in zip(a, b))
    print(json.dumps({"items": len(a), "identical": same}))
    sys.exit(0 if same and a else 1)

import pyarrow as pa
import pyarrow.parquet as pq

root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
src = os.path.join(root, "tests", "fixtures", "zeroshot")
for task in sorted(os.listdir(src)):
    folder = os.path.join(src, task)
    if not os.path.isdir(folder):
        continue
    for name in os.listdir(folder):
        if name.endswith(".jsonl"):
            rows = [json.loads(l) for l in open(os.path.join(folder, name), encoding="utf-8") if l.strip()]
            os.makedirs(os.path.join(sys.argv[1], task), exist_ok=True)
            pq.write_table(pa.Table.from_pylist(rows), os.path.join(sys.argv[1], task, name[:-6] + "-00000-of-00001.parquet"))
print(sys.argv[1])
