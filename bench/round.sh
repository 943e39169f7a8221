#!/usr/bin/env bash
# One round of ../shared/peers/ with seqcli's precision settings, interleaved, then the table.
#
#   ../shared/peers/setup.sh base hf onmt onmt35      # once: the peers' venvs under $PEER_ROOT
#   bench/round.sh                                    # nothing else may run meanwhile (~45 min on 2 cores)
#   PLAN=b bench/round.sh                             # only the recurrent protocol
#
# PLAN letters: a = Transformer protocol, in this order: seqcli (--precision auto),
# HF Marian (fp32, its default), HF under bf16 autocast, OpenNMT-py 3.0.4, seqcli fp32,
# OpenNMT-py 3.5.1 (if set up), then seqcli (auto), HF fp32 and HF bf16 again;
# b = recurrent protocol: seqcli bahdanau (auto, 64-sentence batches), OpenNMT-py LSTM.
# Results: $PEER_ROOT/results/round/NN_label.json and summary.md (the shared summarize.py);
# an earlier round there is moved aside first. SEQCLI_PY: the python with seqcli installed
# (default: the one on PATH).
set -u
HERE="$(cd "$(dirname "$0")" && pwd)"
PEERS="${PEERS_DIR:-$HERE/../../shared/peers}"
source "$PEERS/common.sh"
set +e
R="$PEER_ROOT"; L="$R/logs"; C="$R/corpus"; S="$R/results/round"
SQ="${SEQCLI_PY:-$(command -v python)}"
PLAN="${PLAN:-ab}"
export SEQCLI_HOME="$R/seqcli-home"
[ -d "$S" ] && mv "$S" "$R/results/round_$(date +%F_%H%M%S)"
mkdir -p "$S"
"$R/base/bin/python" "$PEERS/make_corpus.py" --out "$C" --real-dir "$PEERS/../corpora/multi30k" > "$L/round_corpus.log" 2>&1 \
  || { echo "corpus build failed, see $L/round_corpus.log" >&2; exit 2; }
cp "$C/stats.json" "$S/corpus_stats.json"
"$SQ" - <<'PY'
from seqcli.core.device import cpu_name, native_bf16
import os, torch
print(f"cpu: {cpu_name()}, {os.cpu_count()} cores, native bf16: {native_bf16(torch.device('cpu'))}, torch {torch.__version__}")
PY
n=0
step() {  # step <label> <result json name> <command...>
  local label="$1" res="$2"; shift 2
  n=$((n + 1))
  echo "=== $n $label  $(date -u +%T)  load $(cut -d' ' -f1-3 /proc/loadavg)"
  local t0=$(date +%s)
  "$@" > "$L/round_$(printf %02d $n)_$label.log" 2>&1
  echo "    rc=$?  $(( $(date +%s) - t0 ))s  load $(cut -d' ' -f1-3 /proc/loadavg)"
  [ -f "$R/results/$res.json" ] && cp "$R/results/$res.json" "$S/$(printf %02d $n)_$label.json"
}
seqcli_run() { SEQCLI_PRECISION="$1" "$SQ" "$HERE/peers.py" --corpus "$C" "${@:2}"; }
if [[ "$PLAN" == *a* ]]; then
  step seqcli_auto seqcli_transformer_auto1 seqcli_run auto --tag _auto1
  step hf_fp32     hf_marian_transformer      "$R/hf/bin/python" "$PEERS/run_hf.py" --corpus "$C"
  step hf_bf16     hf_marian_transformer_bf16 "$R/hf/bin/python" "$HERE/hf_autocast.py" --corpus "$C"
  step onmt304     onmt_transformer           "$R/onmt/bin/python" "$PEERS/run_onmt.py" --arch transformer --corpus "$C"
  step seqcli_fp32 seqcli_transformer_fp32    seqcli_run fp32 --tag _fp32
  if [ -x "$R/onmt35/bin/python" ]; then
    step onmt351   onmt_transformer_351       "$R/onmt35/bin/python" "$PEERS/run_onmt.py" --arch transformer --corpus "$C" --tag _351
  fi
  step seqcli_auto seqcli_transformer_auto2 seqcli_run auto --tag _auto2
  step hf_fp32     hf_marian_transformer      "$R/hf/bin/python" "$PEERS/run_hf.py" --corpus "$C"
  step hf_bf16     hf_marian_transformer_bf16 "$R/hf/bin/python" "$HERE/hf_autocast.py" --corpus "$C"
fi
if [[ "$PLAN" == *b* ]]; then
  step seqcli_bahdanau seqcli_lstm_auto env SEQCLI_BATCH_SENTS=64 SEQCLI_PRECISION=auto "$SQ" "$HERE/peers.py" \
       --arch bahdanau --corpus "$C" --hidden "${BAHDANAU_HIDDEN:-184}" --tag _auto
  step onmt_lstm   onmt_lstm                  "$R/onmt/bin/python" "$PEERS/run_onmt.py" --arch lstm --corpus "$C"
fi
echo "=== end $(date -u +%T)"
python3 "$PEERS/summarize.py" "$S" > "$S/summary.md" && cat "$S/summary.md"
