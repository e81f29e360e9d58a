# A random-init Llama folder at a real shape for the zero-shot parity check at scale (issue 16): config and bf16
# weights written by transformers, the tokenizer of the embedded tiny model copied in (its 4,096 ids are valid in
# the larger vocabulary). Usage: python3 bench/gpu/zeroshot_random_model.py OUT_DIR [SHAPE=tinyllama-1.1b]
import os, shutil, sys
import torch
from transformers import LlamaConfig, LlamaForCausalLM

out = sys.argv[1]
shape = sys.argv[2] if len(sys.argv) > 2 else "tinyllama-1.1b"
h, f, layers, heads, kv, vocab = {"tinyllama-1.1b": (2048, 5632, 22, 32, 4, 32000), "tiny": (256, 688, 6, 8, 4, 4096)}[shape]
root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
tiny = os.path.join(root, "models", "tiny-llama-brown")
cfg = LlamaConfig(hidden_size=h, intermediate_size=f, num_hidden_layers=layers, num_attention_heads=heads, num_key_value_heads=kv,
                  vocab_size=vocab, max_position_embeddings=2048, bos_token_id=0, eos_token_id=1, pad_token_id=2, tie_word_embeddings=False)
torch.manual_seed(1234)
model = LlamaForCausalLM(cfg).to(torch.bfloat16)
model.save_pretrained(out)
for name in ("tokenizer.json", "tokenizer_config.json"):
    shutil.copy(os.path.join(tiny, name), os.path.join(out, name))
print(out)
