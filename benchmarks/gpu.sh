#!/usr/bin/env bash
# The GPU run of issue 14 §6: benchmarks/gpu.py's five sections (contract subset in float64 and
# float32, 256 Kerr steady states at n = 50 on the GPU and the CPU, N = 300 emitters, two modes at
# cutoff 40 on the parity blocks, achieved bandwidth of a Krylov step), ≤ 8 minutes in all.
#
#   bash benchmarks/gpu.sh                 # on a machine with a GPU: JSON lines, then a table
#   bash benchmarks/gpu.sh --smoke         # tiny sizes on the CPU (runs anywhere, ~2 minutes)
#   bash benchmarks/gpu.sh --fetch-wheels  # (with network) the wheels an offline GPU machine needs
#   bash benchmarks/gpu.sh --out gpu.jsonl # every further argument goes to benchmarks/gpu.py
#
# Python environment, first that works:
# 1. `uv` and a network: `uv sync --locked` (with `--extra cuda`, jax[cuda12] from uv.lock, when
#    nvidia-smi sees a GPU), then `uv run --no-sync`.
# 2. No uv or no network (the lent device machines: nothing can be fetched there, but their
#    python3 has jax with its CUDA plugin, equinox, lineax, optax, diffrax, scipy and pytest):
#    that python3, the repository on PYTHONPATH, plus the wheels in .whl/ when present
#    (`--fetch-wheels` puts qutip, which tests/test_contract.py imports, and the lineax and equinox
#    versions of uv.lock there; carry .whl to the machine). The jax there may be older than
#    pyproject's; the "machine" row records the versions used.
set -uo pipefail
cd "$(dirname "$0")/.."

lock_version() {  # the version uv.lock pins for package $1
    awk -v name="$1" '$0 == "name = \"" name "\"" {getline; gsub(/version = |"/, ""); print; exit}' uv.lock
}

if [[ "${1:-}" == "--fetch-wheels" ]]; then
    exclude="$(git rev-parse --git-path info/exclude)"
    grep -qx '/.whl/' "$exclude" 2>/dev/null || echo '/.whl/' >>"$exclude"
    mkdir -p .whl
    for pkg in qutip lineax equinox; do
        python3 -m pip download --no-deps --only-binary=:all: --python-version 3.12 \
            --implementation cp --platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 \
            --platform manylinux2014_x86_64 -d .whl "$pkg==$(lock_version "$pkg")" || exit 1
    done
    ls -l .whl
    exit 0
fi

SMOKE=0
for arg in "$@"; do [[ "$arg" == "--smoke" ]] && SMOKE=1; done

if command -v uv >/dev/null 2>&1; then
    extras=()
    if [[ $SMOKE == 0 ]] && command -v nvidia-smi >/dev/null 2>&1 && nvidia-smi -L >/dev/null 2>&1; then
        extras=(--extra cuda)
    fi
    if uv sync --locked "${extras[@]}" >&2; then
        PY=(uv run --no-sync python)
    else
        echo "# uv sync failed (offline?): falling back to python3" >&2
        PY=()
    fi
else
    PY=()
fi
if [[ ${#PY[@]} == 0 ]]; then
    export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
    if compgen -G ".whl/*.whl" >/dev/null; then
        python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
            --target /tmp/qdiss-site .whl/*.whl || exit 1
        export PYTHONPATH="/tmp/qdiss-site:$PYTHONPATH"
    fi
    PY=(python3)
fi
export PYTHONUNBUFFERED=1
# gpu.py keeps to its --budget (default 440 s); this is the backstop for the 8 minutes
exec timeout -k 10 480 "${PY[@]}" benchmarks/gpu.py "$@"
