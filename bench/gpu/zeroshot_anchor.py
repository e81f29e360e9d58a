# The anchor for `lors bench eval-tasks`: lm-evaluation-harness's HFLM loglikelihood loop (requests sorted longest
# first, batches of --batch rows right-padded with 0, one forward each, log_softmax over the whole logits in the
# model's dtype, the continuation's log-probs gathered and summed) with transformers on the same synthetic
# HellaSwag-shaped items (the formula of src/Lors.Cli/Bench/EvalTasksBench.cs), random-init bf16 Llama.
# Usage: python3 bench/gpu/zeroshot_anchor.py [SHAPE=llama2-7b] [DOCS=2000] [BATCH=32]; prints JSON with seconds
# for DOCS items and that time scaled to 10,042 items.
import json, sys, time
import torch
from transformers import LlamaConfig, LlamaForCausalLM

shape = sys.argv[1] if len(sys.argv) > 1 else "llama2-7b"
docs = int(sys.argv[2]) if len(sys.argv) > 2 else 2000
batch = int(sys.argv[3]) if len(sys.argv) > 3 else 32
shapes = {"tinyllama-1.1b": (2048, 5632, 22, 32, 4, 32000), "llama2-7b": (4096, 11008, 32, 32, 32, 32000),
          "llama3-8b": (4096, 14336, 32, 32, 8, 128256), "tiny": (256, 688, 6, 8, 4, 4096)}
h, f, layers, heads, kv, vocab = shapes[shape]
cfg = LlamaConfig(hidden_size=h, intermediate_size=f, num_hidden_layers=layers, num_attention_heads=heads,
                  num_key_value_heads=kv, vocab_size=vocab, max_position_embeddings=4096)
torch.manual_seed(0)
with torch.device("cuda"):
    model = LlamaForCausalLM(cfg).to(torch.bfloat16).eval()


def lengths(d, e):  # EvalTasksBench.Lengths
    act = d % 3 == 0
    ctx = 25 + (d * 7919 + 13) % 36 if act else 50 + (d * 7919 + 13) % 101
    end = 12 + (d * 104729 + e * 7 + 3) % 19 if act else 25 + (d * 104729 + e * 7 + 3) % 46
    return ctx, end


def token(d, p):
    return 3 + (d * 31 + p * 17) % (vocab - 3)


reqs = []
for d in range(docs):
    ctx = [1] + [token(d, p) for p in range(1, lengths(d, 0)[0])]
    for e in range(4):
        reqs.append((ctx, [token(d, 1000 + e * 100 + p) for p in range(lengths(d, e)[1])]))
reqs.sort(key=lambda r: -(len(r[0]) + len(r[1])))


@torch.no_grad()
def run(rs):
    total = 0.0
    for i in range(0, len(rs), batch):
        chunk = rs[i:i + batch]
        inps = [(c + k)[:-1] for c, k in chunk]
        t = max(len(x) for x in inps)
        x = torch.zeros((len(inps), t), dtype=torch.long, device="cuda")
        for j, inp in enumerate(inps):
            x[j, :len(inp)] = torch.tensor(inp)
        logp = torch.log_softmax(model(x).logits, dim=-1)
        for j, (c, k) in enumerate(chunk):
            n = len(c) + len(k) - 1
            sel = logp[j, n - len(k):n].gather(1, torch.tensor(k, device="cuda").unsqueeze(1))
            total += float(sel.sum())
    return total


run(reqs[:4 * batch])  # warm-up
torch.cuda.synchronize()
t0 = time.time()
checksum = run(reqs)
torch.cuda.synchronize()
s = time.time() - t0
print(json.dumps({"shape": shape, "docs": docs, "batch": batch, "seconds": s, "seconds_for_10042": s * 10042 / docs,
                  "checksum": checksum, "peak_gib": torch.cuda.max_memory_allocated() / 2**30}))
