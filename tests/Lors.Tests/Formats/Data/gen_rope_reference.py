# Produces rope_hf_reference.json: transformers' Llama RoPE inv_freq and cos/sin (float32 bit patterns)
# for a few configurations, so RopeTests can check LoRS against HF bit for bit. Run where torch and
# transformers are installed: python3 gen_rope_reference.py OUT_DIR
import json, os, struct, sys
import torch, transformers
from transformers import LlamaConfig
from transformers.models.llama.modeling_llama import LlamaRotaryEmbedding

def bits(t):
    return [struct.unpack("<I", struct.pack("<f", float(v)))[0] for v in t.reshape(-1).tolist()]

CASES = {
    "tiny_default": dict(hidden_size=256, num_attention_heads=8, head_dim=32, rope={"rope_type": "default", "rope_theta": 10000.0}),
    "tiny_linear3": dict(hidden_size=256, num_attention_heads=8, head_dim=32, rope={"rope_type": "linear", "rope_theta": 10000.0, "factor": 3.0}),
    "hd64_linear2_5": dict(hidden_size=512, num_attention_heads=8, head_dim=64, rope={"rope_type": "linear", "rope_theta": 500000.0, "factor": 2.5}),
    "llama31": dict(hidden_size=4096, num_attention_heads=32, head_dim=128, rope={"rope_type": "llama3", "rope_theta": 500000.0, "factor": 8.0,
        "low_freq_factor": 1.0, "high_freq_factor": 4.0, "original_max_position_embeddings": 8192}),
    "llama32_f32": dict(hidden_size=2048, num_attention_heads=32, head_dim=64, rope={"rope_type": "llama3", "rope_theta": 500000.0, "factor": 32.0,
        "low_freq_factor": 1.0, "high_freq_factor": 4.0, "original_max_position_embeddings": 8192}),
}
POSITIONS = [0, 1, 2, 3, 7, 100, 511, 1023, 4097, 8191, 100000]

out = {"transformers": transformers.__version__, "torch": torch.__version__, "positions": POSITIONS, "cases": {}}
for name, c in CASES.items():
    cfg = LlamaConfig(vocab_size=1000, hidden_size=c["hidden_size"], intermediate_size=64, num_hidden_layers=1,
                      num_attention_heads=c["num_attention_heads"], num_key_value_heads=c["num_attention_heads"],
                      head_dim=c["head_dim"], max_position_embeddings=131072, rope_parameters=c["rope"])
    case = {"head_dim": c["head_dim"], "rope": c["rope"]}
    for dev in ["cpu"] + (["cuda"] if torch.cuda.is_available() else []):
        rot = LlamaRotaryEmbedding(cfg, device=dev)
        pos = torch.tensor([POSITIONS], device=dev)
        x = torch.zeros(1, len(POSITIONS), c["head_dim"], dtype=torch.float32, device=dev)
        cos, sin = rot(x, pos)
        case[dev] = {"inv_freq": bits(rot.inv_freq.float().cpu()), "attention_scaling": float(rot.attention_scaling),
                     "cos": bits(cos[0].cpu()), "sin": bits(sin[0].cpu())}
    out["cases"][name] = case
os.makedirs(sys.argv[1], exist_ok=True)
with open(os.path.join(sys.argv[1], "rope_hf_reference.json"), "w") as f:
    json.dump(out, f)
print("ok", {k: len(v["cpu"]["inv_freq"]) for k, v in out["cases"].items()})
if "cuda" in out["cases"]["llama31"]:
    for k, v in out["cases"].items():
        print(k, "cpu==cuda inv:", v["cpu"]["inv_freq"] == v["cuda"]["inv_freq"], "cos:", v["cpu"]["cos"] == v["cuda"]["cos"])
