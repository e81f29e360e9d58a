# Shared by the GPU run scripts: unpack the self-contained `lors` and run named steps with a time limit, logging to $OUT.
OUT=${OUT:-/tmp/out}; mkdir -p "$OUT"
tar -xJf .device/lors.tar.xz -C /tmp && L=/tmp/lors/lors
step() { local name=$1 limit=$2; shift 2; echo "=== $name: $*"; local t0=$(date +%s); timeout "$limit" "$@" > "$OUT/$name.log" 2>&1; local rc=$?; echo $rc > "$OUT/$name.rc"; echo "rc=$rc $(( $(date +%s) - t0 )) s"; tail -n "${TAIL:-12}" "$OUT/$name.log"; }
# Only 8 files come back from a call: fold every file under $OUT into one all.log (a header per file), keeping the
# files named as arguments (e.g. a table) beside it.
finish() {
  local all=/tmp/all.log keep=" $* "; : > "$all"
  for f in "$OUT"/*; do
    [ -f "$f" ] || continue; local b=$(basename "$f")
    [[ $keep == *" $b "* ]] && continue
    { echo "##### $b"; cat "$f"; echo; } >> "$all"; rm -f "$f"
  done
  mv "$all" "$OUT/all.log"
}
