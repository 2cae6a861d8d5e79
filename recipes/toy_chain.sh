#!/usr/bin/env bash
# Part 1's experiment end to end at toy scale, on the embedded Gemma 3 270M, on a CPU, offline:
#   synth (import worked additions, some with a caught mistake, and for a third of them a worked
#   attempt that slips and ends wrong) -> pairs (verified versus wrong) -> train (SFT on the verified
#   journeys, then DPO from the SFT model) -> eval (base, SFT, SFT+DPO on held-out additions)
#   -> report (the three side by side).
# Usage: bash recipes/toy_chain.sh   (writes runs/toy; rerun to resume: every step skips done work)
# Sizes: TRAIN additions to learn from, HELDOUT to evaluate on, SAMPLES per held-out problem.
# The training recipe is recipes/toy_chain.yaml, which reads runs/toy/corpus and runs/toy/pairs.
set -euo pipefail
OUT=runs/toy
TRAIN=${TRAIN:-120}
HELDOUT=${HELDOUT:-20}
SAMPLES=${SAMPLES:-4}
mkdir -p "$OUT/data"
started=$(date +%s)
step() { echo "== $1 ($(( $(date +%s) - started )) s)" >&2; }

step "problems: $TRAIN worked additions to learn from, $HELDOUT held out"
python - "$OUT/data" "$TRAIN" "$HELDOUT" <<'PY'
import json, random, sys
from pathlib import Path

out, n_train, n_heldout = Path(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
rng = random.Random(0)
pairs = rng.sample([(a, b) for a in range(10, 100) for b in range(10, 100)], n_train + n_heldout)

def thought(a, b, slip, wrong=False):
    tens, ones = (a // 10 + b // 10) * 10, a % 10 + b % 10
    lines = [f"First the tens: {a // 10 * 10} + {b // 10 * 10} = {tens}."]
    if slip:  # a caught mistake: the journey keeps it
        lines += [f"Then the ones: {a % 10} + {b % 10} = {ones + 1}.", f"Wait, {a % 10} + {b % 10} is {ones}, not {ones + 1}."]
    ones_said = ones + 1 if wrong else ones  # an uncaught slip: the attempt ends on a wrong answer
    lines += [f"Then the ones: {a % 10} + {b % 10} = {ones_said}.", f"{tens} + {ones_said} = {tens + ones_said}, so the answer is \\boxed{{{tens + ones_said}}}."]
    return "\n\n".join(lines)

with (out / "train.jsonl").open("w") as f:
    for i, (a, b) in enumerate(pairs[:n_train]):
        row = {"id": f"add-{i}", "question": f"What is {a} + {b}?", "answer": str(a + b), "thought": thought(a, b, i % 3 == 0)}
        f.write(json.dumps(row) + "\n")
        if i % 3 == 1:  # the same problem attempted again, ending wrong: the rejected side of a pair
            f.write(json.dumps(row | {"id": f"add-{i}-wrong", "thought": thought(a, b, False, wrong=True)}) + "\n")
with (out / "heldout.jsonl").open("w") as f:
    for i, (a, b) in enumerate(pairs[n_train:]):
        f.write(json.dumps({"id": f"held-{i}", "question": f"What is {a} + {b}?", "answer": str(a + b)}) + "\n")
PY

step "synth: import the worked thoughts as a corpus"
[ -f "$OUT/corpus/manifest.json" ] || journey synth --method human --problems "$OUT/data/train.jsonl" --out "$OUT/corpus" --resume

step "pairs: each problem's verified journey (chosen) against its wrong attempt"
[ -f "$OUT/pairs/pairs.jsonl" ] || journey pairs "$OUT/corpus" --kind verified-vs-wrong --out "$OUT/pairs"

step "train: SFT on the verified journeys, then DPO from the SFT model"
journey train --config recipes/toy_chain.yaml

for run in base:local sft:local:$OUT/model/stages/sft sft_dpo:local:$OUT/model; do
  name=${run%%:*}; model=${run#*:}
  step "eval: $name ($model) on $HELDOUT held-out additions x $SAMPLES samples"
  journey eval math --model "$model" --dataset "$OUT/data/heldout.jsonl" --samples "$SAMPLES" --temperature 0.7 \
    --max-tokens 160 --concurrency 4 --out "$OUT/eval/$name"
done

step "report"
journey report "$OUT/eval/base" "$OUT/eval/sft" "$OUT/eval/sft_dpo" --out "$OUT/report"
step "done: $OUT/report/report.html"
