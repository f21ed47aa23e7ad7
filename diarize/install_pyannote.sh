#!/usr/bin/env bash
# Install pyannote.audio (the optional "pyannote" diarization backend) into an existing Bilu venv.
#   usage: diarize/install_pyannote.sh VENV      (e.g. .venv; the project must already be installed there)
# Idempotent: a venv where pyannote.audio 4.0.7 already imports is left as it is.
#
# Why more than `pip install pyannote.audio`: the torchaudio wheel PyPI serves with it is a CUDA build, and
# `import torchaudio` fails on the CPU torch (libc10_cuda.so missing). pyannote uses only torchaudio's
# pure-Python parts (kaldi.fbank, resample, MFCC), which work once the native lib/*.so files are gone.
# torchcodec (pyannote's decoder) cannot decode here either: Bilu hands pyannote audio in memory.
set -euo pipefail

PYANNOTE_VERSION="4.0.7"
venv="${1:?usage: $0 VENV (the project virtual environment)}"
python="$venv/bin/python"
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export PYANNOTE_METRICS_ENABLED=false  # pyannote's telemetry: nothing leaves the machine

if [ ! -x "$python" ]; then
  echo "install_pyannote: $python not found; create the venv and install the project first" >&2
  exit 1
fi

imports_cleanly() {
  "$python" - "$PYANNOTE_VERSION" <<'EOF' >/dev/null 2>&1
import importlib.metadata, sys, warnings
warnings.simplefilter("ignore")
if importlib.metadata.version("pyannote.audio") != sys.argv[1]:
    sys.exit(1)
import torchaudio.compliance.kaldi  # noqa: F401  (fails while the CUDA native libraries are present)
from pyannote.audio import Pipeline  # noqa: F401
EOF
}

if imports_cleanly; then
  echo "install_pyannote: pyannote.audio $PYANNOTE_VERSION already works in $venv"
  exit 0
fi

# The lock file as constraints: torch (the CPU build) and everything else already pinned stay put.
constraints=()
[ -f "$root/requirements.lock" ] && constraints=(-c "$root/requirements.lock")
"$python" -m pip install --quiet "${constraints[@]}" "torch==2.13.0" "pyannote.audio==$PYANNOTE_VERSION"

site="$("$python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')"
if [ -d "$site/torchaudio/lib" ]; then
  find "$site/torchaudio/lib" -maxdepth 1 -name '*.so' -print -delete | sed 's/^/install_pyannote: removed /'
fi

if ! imports_cleanly; then
  echo "install_pyannote: pyannote.audio still does not import in $venv; the error:" >&2
  "$python" -c "from pyannote.audio import Pipeline" >&2 || true
  exit 1
fi
echo "install_pyannote: pyannote.audio $PYANNOTE_VERSION ready in $venv"
