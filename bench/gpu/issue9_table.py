# Reads the logs of run-issue9.sh (ours-SHAPE-METHOD.log with `lors bench train --json`, anchor-SHAPE.log from the
# PyTorch anchor) and prints the ratio table: our step time and peak over PyTorch's, same lease.
import json, os, re, sys
out = sys.argv[1]
pairs = {"lors": "lors", "lors+gc": "lors+gc", "none": "none", "lora": "lora", "masked": "sqft", "masked-ckpt": "sqft_gc"}
def last_json(path):
    try:
        for line in reversed(open(path, encoding="utf-8", errors="replace").read().splitlines()):
            line = line.strip()
            if line.startswith("{"):
                return json.loads(line)
    except (OSError, ValueError):
        pass
    return None
print("| shape | method | ours | PyTorch | time ratio | memory ratio |")
print("| --- | --- | --- | --- | --- | --- |")
for name in sorted(os.listdir(out)):
    m = re.match(r"anchor-(\w+)\.log$", name)
    if not m: continue
    shape = m.group(1)
    anchor = last_json(os.path.join(out, name)) or {}
    res = anchor.get("res", {})
    for ours_m, torch_m in pairs.items():
        o = last_json(os.path.join(out, f"ours-{shape}-{ours_m}.log"))
        t = res.get(torch_m)
        if o is None and t is None: continue
        os_ = f"{o['median_step_ms']:.1f} ms, {o['peak_bytes']/2**30:.2f} GiB" if o else "-"
        ts = f"{t['step_ms']:.1f} ms, {t['peak_gib']:.2f} GiB" if t else "-"
        tr = f"{o['median_step_ms']/t['step_ms']:.2f}" if o and t else "-"
        mr = f"{o['peak_bytes']/2**30/t['peak_gib']:.2f}" if o and t else "-"
        print(f"| {shape} | {ours_m} / {torch_m} | {os_} | {ts} | {tr} | {mr} |")
