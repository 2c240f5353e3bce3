#!/usr/bin/env bash
# GPU evaluation speed of mbench (issue 9): one prepared script for a machine with an NVIDIA GPU.
#
# Installs nothing and needs no internet: run it from the repository root of a checkout where mbench is
# installed (`pip install -e ".[models]"`). The stand-in data are generated locally on first use; to time
# real data add e.g. `data.root=/data/...` to a line below. Models are randomly initialised (throughput
# does not depend on trained weights) and run at each card's official resolution.
#
#   bash benchmarks/gpu_eval.sh [out_dir]      # default out_dir: benchmarks/gpu_results
#
# Writes <out_dir>/<task>--<precision>.json (mbench bench --json) and <out_dir>/summary.txt, and prints the
# GPU model, torch / CUDA versions, batch size and the overhead ratio of every configuration.
set -euo pipefail
cd "$(dirname "$0")/.."
OUT="${1:-benchmarks/gpu_results}"
mkdir -p "$OUT"
export HF_HUB_OFFLINE=1

python - <<'EOF' | tee "$OUT/summary.txt"
import torch
print(f"GPU: {torch.cuda.get_device_name(0) if torch.cuda.is_available() else 'NONE (this script needs CUDA)'}")
print(f"torch {torch.__version__} · CUDA {torch.version.cuda} · cuDNN {torch.backends.cudnn.version()}")
EOF
python -c "import torch, sys; sys.exit(0 if torch.cuda.is_available() else 1)"

# task  model  batch size (evaluation)
RUNS=(
  "brats18-wtseg unet 32"
  "kvasir-seg unet 16"
  "camus-ed unet_ronneberger 16"
)
for run in "${RUNS[@]}"; do
  read -r task model batch <<<"$run"
  for precision in fp32 bf16; do
    mbench bench "task=$task" "model=$model" --device cuda --precision "$precision" --batch-size "$batch" \
      --repeats 20 --warmup 5 --e2e-repeats 3 --num-workers 4 --json > "$OUT/$task--$precision.json"
    python - "$OUT/$task--$precision.json" <<'EOF' | tee -a "$OUT/summary.txt"
import json, sys
r = json.load(open(sys.argv[1]))
e = r["environment"]
print(f"{r['task']:<16}{r['model']:<18}{r['precision']:<6} batch {r['batch_size']:<4} n {r['n_images']:<5}"
      f" input {tuple(r['input_shape'])}  forward {r['forward']['images_per_s']:9.1f} img/s"
      f"  end-to-end {r['end_to_end']['images_per_s']:8.1f} img/s  overhead {100 * r['overhead']:6.1f} %"
      f" (loop only {100 * r['overhead_loop_only']:5.1f} %)  {'PASS' if r['passed'] else 'FAIL'}  [{e.get('gpu')}]")
EOF
  done
done
echo "results in $OUT"
