# Helper for pipeline7b.sh on the GPU machine (transformers + PyTorch there; nothing here is needed by LoRS itself).
#   build MODEL OUT_DIR            a random-init Llama-2-7B / Llama-3-8B folder written by save_pretrained (bf16, 2 GB shards)
#   data OUT_FILE                  the training text for calibration and fine-tuning (brown.train repeated: enough tokens)
#   hfcheck DIR TEXT T WINDOWS PPL transformers loads DIR: perplexity on the same windows as `lors eval` and every 2:4 group
#   lastjson LOG KEY               a field of the last JSON line of a step's log
#   summary WORK_DIR BASE_DIR      the table of all steps run so far (wall s, peak RSS, pass/fail, phase times)
import glob, json, math, os, re, sys, time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PROJ = ("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj")

# Vocabulary 32000 takes the Llama-2-style fixture tokenizer (3000 tokens, <unk>=0 <s>=1 </s>=2, as Llama 2 numbers them);
# 128256 takes the byte-level tokenizer of the embedded model (4096 tokens, <|begin_of_text|>=0). A model's embedding may
# be larger than its tokenizer's vocabulary; transformers and LoRS both accept that.
SHAPES = {
    "llama2-7b": dict(hidden_size=4096, intermediate_size=11008, num_hidden_layers=32, num_attention_heads=32,
                      num_key_value_heads=32, vocab_size=32000, max_position_embeddings=4096, rope_theta=10000.0,
                      bos_token_id=1, eos_token_id=2, tok="tests/fixtures/tok-llama2-style/tokenizer.json",
                      special=dict(bos_token="<s>", eos_token="</s>", unk_token="<unk>")),
    "llama3-8b": dict(hidden_size=4096, intermediate_size=14336, num_hidden_layers=32, num_attention_heads=32,
                      num_key_value_heads=8, vocab_size=128256, max_position_embeddings=8192, rope_theta=500000.0,
                      rope_scaling=dict(rope_type="llama3", factor=8.0, low_freq_factor=1.0, high_freq_factor=4.0,
                                        original_max_position_embeddings=8192),
                      bos_token_id=0, eos_token_id=1, tok="models/tiny-llama-brown/tokenizer.json",
                      special=dict(bos_token="<|begin_of_text|>", eos_token="<|end_of_text|>", pad_token="<|pad|>")),
}


def build(name, out):
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast
    spec = dict(SHAPES[name])
    tok_file, special = os.path.join(ROOT, spec.pop("tok")), spec.pop("special")
    t0 = time.time()
    import transformers
    if int(transformers.__version__.split(".")[0]) >= 5:   # 5.x keeps RoPE settings in rope_parameters
        rope = dict(spec.pop("rope_scaling", None) or {"rope_type": "default"})
        rope["rope_theta"] = spec.pop("rope_theta")
        spec["rope_parameters"] = rope
    cfg = LlamaConfig(rms_norm_eps=1e-5, tie_word_embeddings=False, hidden_act="silu", **spec)
    torch.manual_seed(0)
    torch.set_default_dtype(torch.bfloat16)
    with torch.device("cuda"):
        model = LlamaForCausalLM(cfg)   # random init (normal, std initializer_range) straight on the GPU, in bf16
    torch.set_default_dtype(torch.float32)
    model.eval()
    t1 = time.time()
    model.save_pretrained(out, max_shard_size="2GB")
    tok = PreTrainedTokenizerFast(tokenizer_file=tok_file, **special)
    tok.save_pretrained(out)
    t2 = time.time()
    shards = sorted(glob.glob(os.path.join(out, "*.safetensors")))
    print(json.dumps({"model": name, "dir": out, "parameters": sum(p.numel() for p in model.parameters()), "shards": len(shards),
                      "largest_shard_bytes": max(os.path.getsize(s) for s in shards), "init_s": t1 - t0, "save_s": t2 - t1}))


def data(out):
    text = open(os.path.join(ROOT, "data/brown/brown.train.txt"), encoding="utf-8").read()
    tmp = out + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        for _ in range(4):
            f.write(text)
            f.write("\n")
    os.replace(tmp, out)
    print(json.dumps({"data": out, "chars": 4 * len(text)}))


def hfcheck(model_dir, text_file, seq_len, windows, lors_ppl):
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer
    t0 = time.time()
    tok = AutoTokenizer.from_pretrained(model_dir)
    # fp32 weights on the GPU: the reference LoRS's bf16 evaluation is held to (0.1 %).
    model = AutoModelForCausalLM.from_pretrained(model_dir, dtype=torch.float32, device_map="cuda").eval()
    t1 = time.time()
    bad, groups, zeros, total = 0, 0, 0, 0
    for name, p in model.named_parameters():
        if any(k in name for k in PROJ):
            w = p.detach()
            nz = (w.reshape(-1, 4) != 0).sum(dim=1)
            bad += int((nz > 2).sum())
            groups += nz.numel()
            zeros += int((w == 0).sum())
            total += w.numel()
    ids = tok(open(text_file, encoding="utf-8").read(), add_special_tokens=False)["input_ids"]
    nll, count = 0.0, 0
    with torch.no_grad():
        for j in range(windows):
            x = torch.tensor([ids[j * seq_len: j * seq_len + seq_len + 1]], device="cuda")
            logits = model(input_ids=x[:, :-1]).logits.float()
            nll += torch.nn.functional.cross_entropy(logits[0], x[0, 1:], reduction="sum").item()
            count += x.shape[1] - 1
    ppl = math.exp(nll / count)
    rel = abs(ppl - lors_ppl) / lors_ppl if lors_ppl > 0 else float("inf")
    ok = bad == 0 and rel < 1e-3
    print(json.dumps({"loaded": True, "load_s": t1 - t0, "stream_tokens": len(ids), "groups_checked": groups, "groups_violating_2_4": bad,
                      "sparsity": zeros / max(1, total), "hf_ppl_fp32": ppl, "lors_ppl": lors_ppl, "rel_diff": rel, "ok": ok}))
    sys.exit(0 if ok else 3)


def last_json(path):
    try:
        for line in reversed(open(path, encoding="utf-8", errors="replace").read().strip().splitlines()):
            line = line.strip()
            if line.startswith("{"):
                return json.loads(line)
    except (OSError, ValueError):
        pass
    return {}


def summary(work, base):
    logs = os.path.join(work, "logs")
    shards = glob.glob(os.path.join(base, "*.safetensors"))
    largest = max((os.path.getsize(s) for s in shards), default=0)
    budget_kb = (largest + (2 << 30)) // 1024
    rows = []
    for rc_file in sorted(glob.glob(os.path.join(logs, "*.rc")), key=os.path.getmtime):
        name = os.path.basename(rc_file)[:-3]
        rc = int(open(rc_file).read().strip() or 1)
        tv = open(os.path.join(logs, name + ".time")).read() if os.path.exists(os.path.join(logs, name + ".time")) else ""
        rss = re.search(r"Maximum resident set size \(kbytes\): (\d+)", tv)
        wall = re.search(r"Elapsed \(wall clock\) time \(h:mm:ss or m:ss\): ([\d:.]+)", tv)
        secs = None
        if wall:
            parts = [float(x) for x in wall.group(1).split(":")]
            secs = sum(v * 60 ** (len(parts) - 1 - i) for i, v in enumerate(parts))
        j = last_json(os.path.join(logs, name + ".log"))
        phases = j.get("phases", {})
        note = ", ".join(f"{k} {v:.1f}" for k, v in phases.items() if isinstance(v, (int, float)))
        for key in ("pattern", "perplexity", "rel_diff", "groups_violating_2_4", "mean_step_seconds"):
            if key in j:
                note += f"{', ' if note else ''}{key} {j[key]:.4g}" if isinstance(j[key], float) else f"{', ' if note else ''}{key} {j[key]}"
        rss_kb = int(rss.group(1)) if rss else None
        host_ok = rss_kb is None or name in ("build", "hfcheck") or rss_kb <= budget_kb
        status = "pass" if rc == 0 and host_ok else ("FAIL host memory" if rc == 0 else f"FAIL rc={rc}")
        rows.append((name, f"{secs:.1f}" if secs is not None else "?", f"{rss_kb / 2**20:.2f}" if rss_kb else "?", status, note))
    print(f"host budget (largest shard + 2 GiB): {budget_kb / 2**20:.2f} GiB  (largest shard {largest / 2**30:.2f} GiB)")
    head = ("step", "wall s", "peak RSS GiB", "result", "phases (s) / notes")
    widths = [max(len(str(r[i])) for r in rows + [head]) for i in range(4)]
    print("  ".join(str(head[i]).ljust(widths[i]) for i in range(4)) + "  " + head[4])
    for r in rows:
        print("  ".join(str(r[i]).ljust(widths[i]) for i in range(4)) + "  " + r[4])


if __name__ == "__main__":
    cmd, args = sys.argv[1], sys.argv[2:]
    if cmd == "build": build(args[0], args[1])
    elif cmd == "data": data(args[0])
    elif cmd == "hfcheck": hfcheck(args[0], args[1], int(args[2]), int(args[3]), float(args[4]))
    elif cmd == "summary": summary(args[0], args[1])
    elif cmd == "lastjson": print(last_json(args[0])[args[1]])
    else: sys.exit(f"unknown command {cmd}")
