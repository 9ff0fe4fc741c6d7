"""Training a space: what it commits is what a later evaluation measures."""

from __future__ import annotations

import json

from recommender import load_artifacts
from recommender.evaluation.protocols import holdout_evaluation


def test_the_evaluation_train_judged_by_is_what_evaluate_measures_later(synthetic_artifacts):
    artifacts = load_artifacts(synthetic_artifacts)
    saved = json.loads(next(synthetic_artifacts.glob(f"evaluation-{artifacts.build_id}-fashion-c0-holdout0.2.json"))
                       .read_text())
    later = holdout_evaluation(artifacts, 0.2, space="fashion")
    assert saved["annoy"]["search_k"] == later["annoy"]["search_k"] == artifacts.tuned_search_k("fashion")
    assert saved["precision_at_k"] == later["precision_at_k"] and saved["grouped"] == later["grouped"]
