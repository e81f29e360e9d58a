#!/usr/bin/env bash
# A user's 7B/8B starting point end to end on the GPU machine, timed with /usr/bin/time -v (wall, host peak RSS):
# transformers writes a random-init Llama folder (save_pretrained, bf16, 2 GB shards, the fixture tokenizer), then
# lors info, prune (wanda 2:4 and sparsegpt 2:4, 128 x 2048 calibration tokens), finetune (gradient init over 128
# samples, 20 steps of 2048 tokens), merge, eval, and transformers loading the merged folder (perplexity within 0.1 %
# of `lors eval`, every 2:4 group checked). A summary table of every step run so far ends each call.
#
# Usage (repository root, .device/ from prepare.sh carried): bash bench/gpu/pipeline7b.sh MODEL [STEPS]
#   MODEL: llama2-7b | llama3-8b.  STEPS: comma list of build,info,wanda,sparsegpt,finetune,merge,eval,hf,clean
#   (default all of them). One call must fit 10 minutes, so split the steps over calls on the same warm machine,
#   e.g.  build,info,wanda   then   finetune,merge,eval,hf   then   sparsegpt.  State lives in $WORK (default
#   /tmp/p7b-MODEL) and survives between calls while the machine stays warm; `clean` removes it after the summary
#   (the disk holds one model's folders at a time). Env: BATCH (finetune micro-batch, 4), LORS_INIT_BUDGET_GB; for a
#   dry run of the lors steps on a small folder placed in $WORK/base: DEVICE=cpu LORS_BIN="dotnet .../lors.dll"
#   SEQ=128 CALIB=8 INIT=8 FT_STEPS=2 (defaults cuda, the unpacked tool, 2048, 128, 128, 20).
set -uo pipefail
MODEL=${1:?usage: pipeline7b.sh llama2-7b|llama3-8b [steps]}
STEPS=${2:-build,info,wanda,sparsegpt,finetune,merge,eval,hf}
case "$MODEL" in llama2-7b|llama3-8b) ;; *) echo "unknown model '$MODEL' (llama2-7b or llama3-8b)"; exit 2;; esac
source bench/gpu/lib.sh
L=${LORS_BIN:-$L}; DEVICE=${DEVICE:-cuda}; SEQ=${SEQ:-2048}; CALIB=${CALIB:-128}; INIT=${INIT:-128}; FT_STEPS=${FT_STEPS:-20}
WORK=${WORK:-/tmp/p7b-$MODEL}; mkdir -p "$WORK/logs"
BASE=$WORK/base; DATA=$WORK/train.txt; BATCH=${BATCH:-4}
PY="python3 bench/gpu/pipeline7b.py"
TIME=(/usr/bin/time -v)
[ -x /usr/bin/time ] || { echo "note: /usr/bin/time missing; timing with python's rusage"; TIME=(python3 -c 'import resource,subprocess,sys,time; t=time.time(); rc=subprocess.call(sys.argv[2:]); r=resource.getrusage(resource.RUSAGE_CHILDREN); e=time.time()-t; open(sys.argv[1],"w").write(f"Maximum resident set size (kbytes): {r.ru_maxrss}\nElapsed (wall clock) time (h:mm:ss or m:ss): {int(e//60)}:{e%60:05.2f}\nExit status: {rc}\n"); sys.exit(rc)'); }
has() { [[ ",$STEPS," == *",$1,"* ]]; }
# One timed step: the log, /usr/bin/time's report and the exit code go to $OUT and are kept in $WORK/logs for the summary.
run() {
  local name=$1 limit=$2; shift 2
  if [ "${TIME[0]}" = /usr/bin/time ]; then step "$name" "$limit" "${TIME[@]}" -o "$OUT/$name.time" "$@"
  else step "$name" "$limit" "${TIME[@]}" "$OUT/$name.time" "$@"; fi
  cp "$OUT/$name.log" "$OUT/$name.rc" "$WORK/logs/" 2>/dev/null; cp "$OUT/$name.time" "$WORK/logs/" 2>/dev/null
}
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader 2>/dev/null | tee "$OUT/gpu.txt"
df -h /tmp | tail -1

if has build; then
  rm -rf "$BASE"
  run build 300 $PY build "$MODEL" "$BASE"
  $PY data "$DATA" > /dev/null
fi
[ -f "$BASE/config.json" ] || [ "$STEPS" = clean ] || { echo "no $BASE: run the build step first (same warm machine)"; exit 1; }
[ -f "$DATA" ] || $PY data "$DATA" > /dev/null
CAL="--calib-text $DATA --calib-samples $CALIB --seq-len $SEQ --compute-dtype ${PRUNE_DTYPE:-bf16} --device $DEVICE --json"
has info && run info 120 $L info --model "$BASE" --json
has wanda && { rm -rf "$WORK/wanda"; run wanda 300 $L prune --model "$BASE" --method wanda --pattern 2:4 $CAL --out "$WORK/wanda"; }
if has sparsegpt; then
  rm -rf "$WORK/sparsegpt"
  run sparsegpt 590 $L prune --model "$BASE" --method sparsegpt --pattern 2:4 $CAL --out "$WORK/sparsegpt"
  [ -d "$WORK/sparsegpt" ] && run info-sparsegpt 120 $L info --model "$WORK/sparsegpt" --json
  rm -rf "$WORK/sparsegpt"   # the disk holds about three 7B/8B folders at once
fi
if has finetune; then
  rm -rf "$WORK/ft"
  run finetune 400 $L finetune --model "$WORK/wanda" --data "$DATA" --init gradient --init-samples $INIT --steps $FT_STEPS --seq-len $SEQ \
    --batch "$BATCH" --device $DEVICE --out "$WORK/ft" --json
fi
has merge && { rm -rf "$WORK/merged"; run merge 180 $L merge --model "$WORK/wanda" --adapter "$WORK/ft/adapter" --out "$WORK/merged" --device $DEVICE --json; }
EVAL_T=$SEQ; EVAL_W=${EVAL_W:-4}
has eval && run eval 180 $L eval --model "$WORK/merged" --text data/brown/brown.test.txt --seq-len $EVAL_T --max-windows $EVAL_W --batch 1 --device $DEVICE --json
if has hf; then
  P=$($PY lastjson "$WORK/logs/eval.log" perplexity 2>/dev/null || echo 0)
  run hfcheck 300 $PY hfcheck "$WORK/merged" data/brown/brown.test.txt $EVAL_T $EVAL_W "$P"
fi
echo "=== summary ($MODEL, work folder $WORK)"
$PY summary "$WORK" "$BASE" | tee "$OUT/summary.txt"
has clean && rm -rf "$WORK"
finish summary.txt
exit 0
