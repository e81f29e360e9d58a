# Loads a folder written by `lors merge`/`lors demo` with Hugging Face transformers (unchanged) and checks:
# (1) it loads; (2) every q/k/v/o/gate/up/down weight is exactly 2:4 sparse; (3) its perplexity on the first
# N windows of a text (the fixtures' protocol) equals the `lors eval --json` value passed in.
# Usage: python3 hf_check.py MODEL_DIR TEXT_FILE WINDOWS LORS_PPL
import json, math, sys
import torch
from transformers import AutoModelForCausalLM, AutoTokenizer

model_dir, text_file, windows, lors_ppl = sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4])
tok = AutoTokenizer.from_pretrained(model_dir)
model = AutoModelForCausalLM.from_pretrained(model_dir, torch_dtype=torch.float32).eval()
bad = 0
for name, p in model.named_parameters():
    if any(k in name for k in ("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj")):
        zeros = (p.detach().reshape(-1, 4) == 0).sum(dim=1)
        bad += int((zeros < 2).sum())
ids = tok(open(text_file, encoding="utf-8").read(), add_special_tokens=False)["input_ids"]
total, count = 0.0, 0
with torch.no_grad():
    for j in range(windows):
        x = torch.tensor([ids[j * 256: j * 256 + 257]])
        out = model(input_ids=x, labels=x)
        total += out.loss.item() * 256
        count += 256
ppl = math.exp(total / count)
rel = abs(ppl - lors_ppl) / lors_ppl
print(json.dumps({"loaded": True, "groups_violating_2_4": bad, "hf_ppl": ppl, "lors_ppl": lors_ppl, "rel_diff": rel, "ok": bad == 0 and rel < 1e-3}))
