# Golden per-choice log-likelihoods for the zero-shot fixtures, computed with Hugging Face transformers the way
# lm-evaluation-harness 0.4 (HFLM, causal) computes them: prompts and choices from each task's YAML / utils.py,
# _encode_pair (trailing context spaces move to the continuation; context+continuation encoded whole and split at
# len(tok_encode(context))), BOS as the tokenizer adds it by default (and, separately, without it), input =
# (context + continuation)[-(max_length+1):][:-1], each request alone (no padding), float32 model, log-softmax.
# Writes tests/fixtures/zeroshot/golden.json, read by tests/Lors.Tests/Evaluation/ZeroShotGoldenTests.cs.
# Usage: python3 bench/gpu/zeroshot_golden.py [MODEL_DIR] [FIXTURE_DIR] [OUT]
# (for another model, e.g. the random-init 1.1B of zeroshot_random_model.py, give an OUT outside the fixtures and
# compare with `lors eval-tasks --samples` through zeroshot_compare.py)
import json, math, os, re, sys
import torch
from transformers import AutoModelForCausalLM, AutoTokenizer

root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
model_dir = sys.argv[1] if len(sys.argv) > 1 else os.path.join(root, "models", "tiny-llama-brown")
fixture_dir = sys.argv[2] if len(sys.argv) > 2 else os.path.join(root, "tests", "fixtures", "zeroshot")
out_path = sys.argv[3] if len(sys.argv) > 3 else os.path.join(fixture_dir, "golden.json")


def hellaswag_preprocess(text):  # lm_eval/tasks/hellaswag/utils.py
    text = text.strip()
    text = text.replace(" [title]", ". ")
    text = re.sub("\\[.*?\\]", "", text)
    text = text.replace("  ", " ")
    return text


def docs(task, d):
    """(contexts, continuations, choices, gold) of one row, as the harness builds them."""
    if task == "boolq":
        ctx, choices, gold = f"{d['passage']}\nQuestion: {d['question']}?\nAnswer:", ["no", "yes"], int(d["label"])
    elif task == "rte":
        ctx, choices, gold = f"{d['sentence1']}\nQuestion: {d['sentence2']} True or False?\nAnswer:", ["True", "False"], int(d["label"])
    elif task == "hellaswag":
        c = d["ctx_a"] + " " + d["ctx_b"].capitalize()
        ctx, choices, gold = hellaswag_preprocess(d["activity_label"] + ": " + c), [hellaswag_preprocess(e) for e in d["endings"]], int(d["label"])
    elif task == "winogrande":
        idx = d["sentence"].index("_")
        target = d["sentence"][idx + 1:].strip()
        choices = [d["sentence"][:idx] + o for o in (d["option1"], d["option2"])]
        return choices, [" " + target] * 2, choices, {"1": 0, "2": 1}[d["answer"]]
    elif task in ("arc_easy", "arc_challenge"):
        ctx, choices, gold = f"Question: {d['question']}\nAnswer:", d["choices"]["text"], d["choices"]["label"].index(d["answerKey"])
    elif task == "openbookqa":
        ctx, choices, gold = d["question_stem"], d["choices"]["text"], d["choices"]["label"].index(d["answerKey"].lstrip())
    elif task == "piqa":
        ctx, choices, gold = f"Question: {d['goal']}\nAnswer:", [d["sol1"], d["sol2"]], int(d["label"])
    else:
        raise ValueError(task)
    return [ctx] * len(choices), [" " + c for c in choices], choices, gold


SPLITS = {"boolq": "validation", "rte": "validation", "hellaswag": "validation", "winogrande": "validation",
          "arc_easy": "test", "arc_challenge": "test", "openbookqa": "test", "piqa": "validation"}

tok = AutoTokenizer.from_pretrained(model_dir)
# float32 everywhere; on a GPU with TF32 off (PyTorch's default for matmul) so the products are float32 products.
dev = "cuda" if torch.cuda.is_available() else "cpu"
torch.backends.cuda.matmul.allow_tf32 = False
torch.backends.cudnn.allow_tf32 = False
model = AutoModelForCausalLM.from_pretrained(model_dir, torch_dtype=torch.float32).to(dev).eval()
max_length = model.config.max_position_embeddings


def tok_encode(s, bos):
    return tok.encode(s) if bos else tok.encode(s, add_special_tokens=False)


def encode_pair(context, continuation, bos):  # lm_eval/api/model.py _encode_pair
    n_spaces = len(context) - len(context.rstrip())
    if n_spaces > 0:
        continuation = context[-n_spaces:] + continuation
        context = context[:-n_spaces]
    whole = tok_encode(context + continuation, bos)
    ctx = tok_encode(context, bos)
    return ctx, whole[len(ctx):]


@torch.no_grad()
def loglikelihood(ctx, cont):
    inp = (ctx + cont)[-(max_length + 1):][:-1]
    logits = model(torch.tensor([inp], device=dev)).logits[0].double()
    logp = torch.log_softmax(logits, dim=-1)[len(inp) - len(cont):]
    return float(logp.gather(1, torch.tensor(cont, device=dev).unsqueeze(1)).sum())


result = {"model": os.path.basename(os.path.abspath(model_dir)), "transformers": __import__("transformers").__version__,
          "torch": torch.__version__, "max_length": max_length, "modes": {}}
for mode, bos in (("bos", True), ("no_bos", False)):
    tasks = {}
    for task, split in SPLITS.items():
        path = os.path.join(fixture_dir, task, split + ".jsonl")
        items = []
        for line in open(path, encoding="utf-8"):
            if not line.strip():
                continue
            contexts, conts, choices, gold = docs(task, json.loads(line))
            reqs = [encode_pair(c, k, bos) for c, k in zip(contexts, conts)]
            lls = [loglikelihood(c, k) for c, k in reqs]
            norm = [ll / len(ch) for ll, ch in zip(lls, choices)]
            items.append({"gold": gold, "contexts": contexts, "continuations": conts,
                          "context_tokens": [c for c, _ in reqs], "continuation_tokens": [k for _, k in reqs],
                          "loglikelihoods": lls, "pred": max(range(len(lls)), key=lambda i: (lls[i], -i)),
                          "pred_norm": max(range(len(norm)), key=lambda i: (norm[i], -i))})
        tasks[task] = items
    result["modes"][mode] = tasks
tmp = out_path + ".tmp"
with open(tmp, "w", encoding="utf-8") as f:
    json.dump(result, f, indent=1, ensure_ascii=False)
os.replace(tmp, out_path)
print(json.dumps({"written": out_path, "items": {t: len(v) for t, v in result["modes"]["bos"].items()}}))
