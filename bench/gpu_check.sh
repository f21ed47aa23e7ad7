#!/bin/sh
# The recognition benchmarks on a CUDA GPU, when this machine has one: speed (bench/batch.py) and character error
# rate (bench/accuracy.py) with BILU_ASR_DEVICE=cuda and a GPU compute type (float16 unless BILU_ASR_COMPUTE says
# otherwise; int8 becomes int8_float16 on a GPU). Figures go to bench/results/gpu/, beside the CPU ones, not over
# them. Without a GPU it prints one line saying so and exits 0.
# Run: sh bench/gpu_check.sh   (PYTHON=/path/to/python to use another interpreter than .venv/bin/python)
set -eu
cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-.venv/bin/python}"

gpus=$("$PYTHON" -c "import ctranslate2; print(ctranslate2.get_cuda_device_count())" 2>/dev/null || echo 0)
if [ "$gpus" = "0" ]; then
    echo "no GPU: CTranslate2 sees no CUDA device on this machine; nothing to run (the CPU figures come from make bench)"
    exit 0
fi

export BILU_ASR_DEVICE=cuda
export BILU_ASR_COMPUTE="${BILU_ASR_COMPUTE:-float16}"
export BENCH_RESULTS_DIR="bench/results/gpu"
command -v nvidia-smi >/dev/null 2>&1 && nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader
echo "GPU benchmarks: model ${BILU_ASR_MODEL:-base}, compute ${BILU_ASR_COMPUTE}"
"$PYTHON" bench/batch.py
"$PYTHON" bench/accuracy.py
"$PYTHON" - <<'PY'
import json
from pathlib import Path

folder = Path("bench/results/gpu")
batch = json.loads((folder / "batch.json").read_text(encoding="utf-8"))
accuracy = json.loads((folder / "accuracy.json").read_text(encoding="utf-8"))
print(f"speed: {batch['audio_s']:.0f} s of audio, pipeline {batch['pipeline_s']:.1f} s (RTF {batch['rtf_pipeline']}), "
      f"bare faster-whisper {batch['bare_s']:.1f} s (RTF {batch['rtf_bare']})")
print("CER: " + ", ".join(f"{side} {value}" for side, value in accuracy["cer"].items()))
PY
