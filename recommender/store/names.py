"""Every file name of an artifacts folder, in one place (a test keeps any other module from spelling one).

Each data file carries its build id, so a file is never overwritten in place by another build and a reader
of an older manifest keeps its own files through the grace period.

>>> annoy_file("20261207T120000-abc123", "fashion", "angular", 50)
'annoy-20261207T120000-abc123-fashion-angular-t50.ann'
>>> space_files("B", "fashion")["head"], map_file("B", "fashion", "pca"), evaluation_file("B", "holdout-0.1")
('head-B-fashion.npz', 'map-B-fashion-pca.npy', 'evaluation-B-holdout-0.1.json')
"""

from __future__ import annotations

MANIFEST = "manifest.json"


def catalogue_files(build_id: str) -> dict[str, str]:
    """A build's catalogue files: ``vectors`` (n, 2048) float32, ``colours`` (n, 64), ``metadata`` (csv)."""
    return {"vectors": f"vectors-{build_id}.npy", "colours": f"colours-{build_id}.npy",
            "metadata": f"metadata-{build_id}.csv"}


def space_files(build_id: str, space: str) -> dict[str, str]:
    """A trained space's files in a build: ``head``, ``vectors``, ``split``."""
    return {"head": f"head-{build_id}-{space}.npz", "vectors": f"vectors-{build_id}-{space}.npy",
            "split": f"split-{build_id}-{space}.json"}


def words_file(build_id: str, space: str) -> str:
    """A trained space's text model in a build (:class:`recommender.features.text.TextModel`)."""
    return f"words-{build_id}-{space}.npz"


def annoy_file(build_id: str, space: str, metric: str, n_trees: int) -> str:
    """An Annoy index of one space of a build, for one metric and number of trees."""
    return f"annoy-{build_id}-{space}-{metric}-t{n_trees}.ann"


def map_file(build_id: str, space: str, method: str) -> str:
    """A saved 2-D map of one space of a build (:mod:`recommender.explore.projection`)."""
    return f"map-{build_id}-{space}-{method}.npy"


def evaluation_file(build_id: str, name: str) -> str:
    """A saved evaluation of a build (:mod:`recommender.evaluation.results`)."""
    return f"evaluation-{build_id}-{name}.json"


def derived_patterns(build_id: str, space: str) -> tuple[str, ...]:
    """Glob patterns of the files derived from a space's vectors (its indexes and maps)."""
    return f"annoy-{build_id}-{space}-*.ann", map_file(build_id, space, "*")


def evaluation_pattern(build_id: str) -> str:
    """Glob pattern of a build's saved evaluations."""
    return evaluation_file(build_id, "*")


def work_folder(key: str) -> str:
    """The folder of a build's resumable chunks (removed when the build is committed)."""
    return f".work-{key}"


def finetune_folder(build_id: str) -> str:
    """The folder of a fine-tune's conv4 cache, checkpoints and candidate build (removed when it is kept)."""
    return f".finetune-{build_id}"


# The background training of a first start (recommender.pipeline.improve): its state, its log and its lock.
TRAINING_STATUS = "training.json"
TRAINING_LOG = "training.log"
TRAINING_LOCK = ".training.lock"
