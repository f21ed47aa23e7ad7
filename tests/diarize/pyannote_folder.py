"""Builds a pyannote pipeline folder laid out like speaker-diarization-community-1, from randomly
initialised models of the real architectures, so the real pyannote.audio code can be tested offline.

No pip package ships pyannote's trained weights. The folder built here has what an operator's copy has:
  config.yaml                       SpeakerDiarization with $model/segmentation, $model/embedding, $model/plda
  segmentation/pytorch_model.bin    PyanNet (SincNet + 4 BiLSTM), powerset over 3 speakers, 10 s chunks
  embedding/pytorch_model.bin       WeSpeakerResNet34 (256-d)
  plda/xvec_transform.npz, plda.npz a valid (random, well conditioned) LDA + PLDA for VBx clustering
Its output is meaningless, but loading, running and clustering go through pyannote's own code.
Imports pyannote.audio: only call this after pytest.importorskip("pyannote.audio").
"""
import os
from pathlib import Path

import numpy as np

os.environ.setdefault("PYANNOTE_METRICS_ENABLED", "false")

CONFIG_YAML = """\
dependencies:
  pyannote.audio: 4.0.7
pipeline:
  name: pyannote.audio.pipelines.SpeakerDiarization
  params:
    clustering: VBxClustering
    embedding: $model/embedding
    embedding_batch_size: 32
    embedding_exclude_overlap: true
    plda: $model/plda
    segmentation: $model/segmentation
    segmentation_batch_size: 32
    segmentation_step: {segmentation_step}
params:
  clustering:
    threshold: 0.6
    Fa: 0.07
    Fb: 0.8
  segmentation:
    min_duration_off: 0.0
"""

EMBEDDING_DIMENSION = 256
LDA_DIMENSION = 128


def save_checkpoint(model, path: Path) -> None:
    """Save `model` as pyannote's Model.from_pretrained expects: lightning's checkpoint layout plus the
    "pyannote.audio" entry (versions, architecture, specifications) that on_save_checkpoint adds."""
    import lightning
    import torch

    checkpoint = {
        "state_dict": model.state_dict(),
        "hyper_parameters": dict(model.hparams),
        "pytorch-lightning_version": lightning.__version__,
    }
    model.on_save_checkpoint(checkpoint)
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save(checkpoint, path)


def segmentation_model(seed: int = 0):
    """PyanNet with the defaults community-1 uses, powerset output: 3 speakers, at most 2 at once."""
    import torch
    from pyannote.audio.core.task import Problem, Resolution, Specifications
    from pyannote.audio.models.segmentation import PyanNet

    torch.manual_seed(seed)
    model = PyanNet(sample_rate=16000, num_channels=1)
    model.specifications = Specifications(
        problem=Problem.MONO_LABEL_CLASSIFICATION,
        resolution=Resolution.FRAME,
        duration=10.0,
        warm_up=(0.0, 0.0),
        classes=["speaker#1", "speaker#2", "speaker#3"],
        powerset_max_classes=2,
        permutation_invariant=True,
    )
    model.build()
    return model


def embedding_model(seed: int = 1):
    import torch
    from pyannote.audio.core.task import Problem, Resolution, Specifications
    from pyannote.audio.models.embedding import WeSpeakerResNet34

    torch.manual_seed(seed)
    model = WeSpeakerResNet34(sample_rate=16000, num_channels=1)
    model.specifications = Specifications(
        problem=Problem.REPRESENTATION, resolution=Resolution.CHUNK, duration=10.0
    )
    return model


def write_plda(folder: Path, *, seed: int = 2) -> None:
    """xvec_transform.npz (mean1, mean2, lda) and plda.npz (mu, tr, psi), the files pyannote's vbx_setup
    reads. Random but valid: orthonormal transforms and positive variances, so its eigen-solve succeeds."""
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    lda, _ = np.linalg.qr(rng.normal(size=(EMBEDDING_DIMENSION, LDA_DIMENSION)))
    np.savez(
        folder / "xvec_transform.npz",
        mean1=rng.normal(scale=0.01, size=EMBEDDING_DIMENSION),
        mean2=rng.normal(scale=0.01, size=LDA_DIMENSION),
        lda=lda,
    )
    tr, _ = np.linalg.qr(rng.normal(size=(LDA_DIMENSION, LDA_DIMENSION)))
    np.savez(
        folder / "plda.npz",
        mu=rng.normal(scale=0.01, size=LDA_DIMENSION),
        tr=tr,
        psi=np.sort(rng.uniform(0.5, 5.0, size=LDA_DIMENSION))[::-1].copy(),
    )


def build_pipeline_folder(folder: Path, *, segmentation_step: float = 0.5) -> Path:
    """Write a complete pipeline folder at `folder` and return it.

    `segmentation_step` (fraction of the 10 s chunk) is 0.5 by default: what sites use on 2 cores, and it
    keeps the tests quick. Paths under `folder` must not contain "wespeaker", "speechbrain" or "nvidia"
    when an embedding path is ever given as a string (pyannote picks the backend from those substrings);
    the $model/ entries in config.yaml are dicts and are not affected.
    """
    folder = Path(folder)
    save_checkpoint(segmentation_model(), folder / "segmentation" / "pytorch_model.bin")
    save_checkpoint(embedding_model(), folder / "embedding" / "pytorch_model.bin")
    write_plda(folder / "plda")
    (folder / "config.yaml").write_text(CONFIG_YAML.format(segmentation_step=segmentation_step), encoding="utf-8")
    return folder
