"""Visual fashion recommender: ImageNet ResNet50 features, Annoy search, Kaggle catalogue layout.

Data flows one way, stage by stage (each a subpackage; docs/architecture.md):
data -> features -> index -> store -> search -> evaluation -> training -> explore -> pipeline -> cli.
The names below are the package's face: the dashboard's pages use nothing else.

>>> from recommender import Recommender
>>> shop = Recommender.load("artifacts")                             # doctest: +SKIP
>>> shop.search(shop.queries.from_image("shoe.jpg"), k=5)            # doctest: +SKIP
"""

from .config import DEMO_SAMPLE, PROJECT_ROOT, artifacts_dir, requested_runtime
from .data.catalogue import LABEL_COLUMNS, Catalogue, CatalogueReport, read_catalogue, stratified_sample
from .data.colour import COLOUR_DIM
from .data.hub import DatasetUnavailable, fetch_public_catalogue
from .data.images import FULL_FRAME, INPUT_SIZE, CropBox, ImageError, crop, decode_image
from .data.locate import DATASET_HELP, find_dataset
from .evaluation.results import (
    evaluation_name,
    evaluation_sizes,
    goal_table,
    headline_table,
    held_out_product_ids,
    load_saved_evaluations,
    model_choice_table,
    per_type_table,
    query_kind_table,
    robustness_table,
)
from .explore.mapview import (
    MAX_PHOTOS,
    MAX_POINTS,
    MapView,
    full_bounds,
    inside_mask,
    map_view,
    photo_uri,
    sample_order,
)
from .explore.projection import METHODS as MAP_METHODS
from .explore.projection import catalogue_map, saved_map, tsne_seconds
from .features.extractor import Extractor
from .features.quiet import tensorflow as import_tensorflow
from .features.settings import DEFAULT_INPUT_SIZE, DEFAULT_POOLING, FEATURE_DIM, INPUT_SIZES, FeatureSettings
from .features.weights import Weights, WeightsUnavailable, resolve_weights
from .garments.finder import Garment, GarmentFinder, query_box
from .goals import MAX_ROBUSTNESS_DROP_POINTS, P5_GOALS, TARGET_RECALL
from .index.annoy import DEFAULT_N_TREES, DEFAULT_SEARCH_K, METRICS, VectorIndex
from .index.exact import exact_search
from .pipeline.build import build_catalogue
from .pipeline.first_start import ensure_catalogue
from .pipeline.improve import last_progress, read_status, start_in_background, status_lines
from .pipeline.update import format_update_report, update_catalogue
from .search.ask import NothingToSearch
from .search.catalogue import FILTER_COLUMNS, RESULT_COLUMNS, CatalogueView
from .search.engine import DEFAULT_K, MAX_K, Neighbours, Query, SearchEngine
from .search.look import LookPart, searched_whole
from .search.queries import PhotoQueries, QueryMaker
from .search.recommender import PREDICTED_LABELS, Answer, Recommender
from .store.artifacts import Artifacts, DatasetChanged, current_build_id, load_artifacts
from .store.manifest import BACKBONE_SPACE, ArtifactError, Manifest, NoCatalogue
from .store.predictor import served_version
from .training.train import EMBEDDING_DIM, HIDDEN_DIM

__all__ = [
    "ArtifactError", "Artifacts", "artifacts_dir", "CatalogueView", "Garment", "GarmentFinder", "LookPart",
    "Neighbours", "PhotoQueries", "QueryMaker", "SearchEngine", "searched_whole", "Answer", "NothingToSearch",
    "BACKBONE_SPACE", "build_catalogue", "Catalogue", "catalogue_map",
    "CatalogueReport", "COLOUR_DIM", "crop", "CropBox", "current_build_id", "DATASET_HELP", "DatasetChanged",
    "DatasetUnavailable", "decode_image", "DEFAULT_INPUT_SIZE", "DEFAULT_K", "DEFAULT_N_TREES", "DEFAULT_POOLING",
    "DEFAULT_SEARCH_K", "DEMO_SAMPLE", "EMBEDDING_DIM", "ensure_catalogue", "evaluation_name", "evaluation_sizes",
    "exact_search", "Extractor", "FEATURE_DIM", "FeatureSettings", "fetch_public_catalogue", "FILTER_COLUMNS",
    "find_dataset", "format_update_report", "full_bounds", "FULL_FRAME", "goal_table", "headline_table",
    "held_out_product_ids", "HIDDEN_DIM", "ImageError", "import_tensorflow", "INPUT_SIZE", "INPUT_SIZES",
    "model_choice_table",
    "inside_mask", "LABEL_COLUMNS", "load_artifacts", "load_saved_evaluations", "Manifest", "MAP_METHODS",
    "map_view", "MapView", "MAX_K", "MAX_PHOTOS", "MAX_POINTS", "MAX_ROBUSTNESS_DROP_POINTS", "METRICS",
    "NoCatalogue", "P5_GOALS", "per_type_table", "photo_uri", "PREDICTED_LABELS", "PROJECT_ROOT", "Query", "query_box",
    "query_kind_table",
    "read_catalogue", "requested_runtime", "Recommender", "resolve_weights", "RESULT_COLUMNS", "robustness_table",
    "sample_order",
    "saved_map", "stratified_sample", "TARGET_RECALL", "tsne_seconds", "update_catalogue", "VectorIndex", "Weights",
    "WeightsUnavailable", "last_progress", "read_status", "served_version", "start_in_background", "status_lines",
]
