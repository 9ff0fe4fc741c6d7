"""Fine-tuning conv5: the re-embedded catalogue is what the saved network gives, and only a win is kept."""

import json
import shutil
import warnings

import numpy as np
import pytest

from recommender import Recommender, load_artifacts
from recommender.features.extractor import DEFAULT_INPUT_SIZE
from recommender.pipeline.build import build_catalogue
from recommender.training.finetune import fine_tune
from recommender.training.train import train_space

pytestmark = pytest.mark.slow  # three ResNet50 builds and a training run


@pytest.mark.parametrize("input_size", [DEFAULT_INPUT_SIZE, 128])
def test_a_kept_fine_tune_is_the_network_queries_and_updates_use(synthetic_artifacts, synthetic_dataset,
                                                                  random_weights, tmp_path, input_size):
    root = tmp_path / "artifacts"
    if input_size == DEFAULT_INPUT_SIZE:
        shutil.copytree(synthetic_artifacts, root)
    else:  # a catalogue built at another input size is fine-tuned at that size (its conv4 maps differ)
        build_catalogue(synthetic_dataset, root, weights=random_weights.path, input_size=input_size, n_trees=5,
                        progress=False, log=lambda _: None)
        train_space(root, holdout=0.2, epochs=1, progress=False, log=lambda _: None)
    before = load_artifacts(root)
    lines = []
    report = fine_tune(root, epochs=1, weights=random_weights, keep_regardless=True, progress=False,
                       log=lines.append)
    assert report["kept"] and set(report) >= {"comparison", "seconds", "wins"}
    after = load_artifacts(root)
    assert after.build_id != before.build_id
    backbone = after.manifest.features.backbone
    assert (root / backbone["name"]).is_file() and backbone["fine_tuned_from"] == random_weights.sha256
    assert after.manifest.features.weights_sha256 != random_weights.sha256
    assert after.manifest.features.input_size == input_size
    assert not np.allclose(np.asarray(after.vectors), np.asarray(before.vectors), atol=1e-4)
    # The vectors made from the cached conv4 activations are what the saved network makes of the photos.
    recommender = Recommender.load(root)
    recommender.queries.trim = False  # the network itself is compared here, on the photos as they are
    assert recommender.summary["backbone"] == "fine-tuned"
    for row in range(3):
        query = recommender.queries.from_image(recommender.catalogue.image_path(after.metadata["id"].iloc[row]))
        assert float(query.vector @ np.asarray(after.vectors[row])) > 0.9999
    # Same held-out products as the build it came from; no work folder left behind.
    assert json.loads((root / after.manifest.spaces["fashion"].split.name).read_text())["random"]
    assert not list(root.glob(".finetune-*"))


def test_a_fine_tune_that_does_not_win_changes_nothing_and_resumes(synthetic_artifacts, random_weights, tmp_path):
    root = tmp_path / "artifacts"
    shutil.copytree(synthetic_artifacts, root)
    before = load_artifacts(root)
    report = fine_tune(root, epochs=0, weights=random_weights, progress=False, log=lambda _: None)
    # No training: the same network measures the same, and a tie is not a win.
    assert not report["kept"] and report["comparison"]["articleType"]["change"] == pytest.approx(0, abs=1e-6)
    after = load_artifacts(root)
    assert after.build_id == before.build_id
    assert after.manifest.spaces["fashion"].training["fine_tune_rejected"]["kept"] is False
    work = root / f".finetune-{before.build_id}"
    assert json.loads((work / "conv4-done.json").read_text()) == [0]  # the cache is kept for another try


def test_an_interrupted_fine_tune_resumes_after_its_last_finished_epoch(synthetic_artifacts, random_weights, tmp_path,
                                                                        monkeypatch, capsys):
    import recommender.training.finetune as finetune

    root = tmp_path / "artifacts"
    shutil.copytree(synthetic_artifacts, root)
    write = finetune.write_json_atomic

    def ctrl_c_after_the_first_epoch(path, value):
        write(path, value)
        if path.name == "checkpoint.json" and value == {"epochs_done": 1}:
            raise KeyboardInterrupt

    monkeypatch.setattr(finetune, "write_json_atomic", ctrl_c_after_the_first_epoch)
    with pytest.raises(KeyboardInterrupt):
        fine_tune(root, epochs=2, weights=random_weights, progress=False, log=lambda _: None)
    monkeypatch.setattr(finetune, "write_json_atomic", write)
    capsys.readouterr()
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)  # resuming says nothing beyond the project's own bar
        report = fine_tune(root, epochs=2, weights=random_weights, progress=True, log=lambda _: None)
    bar = capsys.readouterr().err
    assert "Fine-tuning:  50%" in bar  # the bar starts where the first run stopped
    assert "conv4 activations" not in bar  # the cache was complete: nothing embedded again
    assert "WARNING" not in bar  # no library chatter (an AutoGraph warning once leaked here)
    assert set(report) >= {"kept", "comparison"}
