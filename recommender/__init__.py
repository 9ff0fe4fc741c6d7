"""Visual fashion recommender: ImageNet ResNet50 features, Annoy search, Kaggle catalogue layout.

Data flows one way: images -> features -> index -> results.  The names
below are the package's face: the dashboard's pages use nothing else.

>>> from recommender import Recommender
>>> recommender = Recommender.load("artifacts")                      # doctest: +SKIP
>>> recommender.search(recommender.query_from_image("shoe.jpg"), k=5)  # doctest: +SKIP
"""

from .artifacts import (
    BACKBONE_SPACE,
    ArtifactError,
    Artifacts,
    DatasetChanged,
    NoCatalogue,
    current_build_id,
    load_artifacts,
)
from .build import build_catalogue
from .catalogue import LABEL_COLUMNS, Catalogue, CatalogueReport, read_catalogue, stratified_sample
from .colour import COLOUR_DIM
from .evaluate import (
    evaluation_sizes,
    headline_table,
    held_out_product_ids,
    load_saved_evaluations,
    per_type_table,
    robustness_table,
)
from .features import DEFAULT_INPUT_SIZE, DEFAULT_POOLING, FEATURE_DIM, INPUT_SIZES, Extractor
from .hub import DatasetUnavailable, fetch_public_catalogue
from .images import FULL_FRAME, INPUT_SIZE, CropBox, ImageError, crop, decode_image
from .index import DEFAULT_N_TREES, DEFAULT_SEARCH_K, METRICS, TARGET_RECALL, VectorIndex, exact_search
from .mapview import MAX_PHOTOS, MAX_POINTS, MapView, full_bounds, inside_mask, map_view, photo_uri, sample_order
from .projection import METHODS as MAP_METHODS
from .projection import catalogue_map, saved_map, tsne_seconds
from .quiet import tensorflow as import_tensorflow
from .search import DEFAULT_K, FILTER_COLUMNS, MAX_K, PREDICTED_LABELS, RESULT_COLUMNS, Query, Recommender
from .settings import DATASET_HELP, DEMO_SAMPLE, PROJECT_ROOT, artifacts_dir, find_dataset
from .train import EMBEDDING_DIM, HIDDEN_DIM
from .update import format_update_report, update_catalogue
from .weights import Weights, WeightsUnavailable, resolve_weights

__all__ = [
    "ArtifactError", "Artifacts", "artifacts_dir", "BACKBONE_SPACE", "build_catalogue", "Catalogue", "catalogue_map",
    "CatalogueReport", "COLOUR_DIM", "crop", "CropBox", "DATASET_HELP", "DatasetChanged", "DatasetUnavailable",
    "decode_image", "DEFAULT_K", "DEFAULT_N_TREES", "DEFAULT_POOLING", "DEFAULT_SEARCH_K", "DEMO_SAMPLE",
    "EMBEDDING_DIM", "evaluation_sizes", "exact_search", "Extractor", "FEATURE_DIM", "fetch_public_catalogue",
    "FILTER_COLUMNS", "find_dataset", "format_update_report", "FULL_FRAME", "headline_table", "held_out_product_ids",
    "HIDDEN_DIM", "ImageError", "import_tensorflow", "INPUT_SIZE", "LABEL_COLUMNS", "load_artifacts",
    "load_saved_evaluations", "MAP_METHODS", "MAX_K", "METRICS", "NoCatalogue", "per_type_table", "PREDICTED_LABELS",
    "PROJECT_ROOT", "TARGET_RECALL",
    "Query", "read_catalogue", "current_build_id", "Recommender", "resolve_weights", "RESULT_COLUMNS",
    "robustness_table", "saved_map", "MAX_PHOTOS", "MAX_POINTS", "MapView", "full_bounds", "inside_mask", "map_view",
    "photo_uri", "sample_order", "DEFAULT_INPUT_SIZE", "INPUT_SIZES",
    "stratified_sample", "tsne_seconds", "update_catalogue", "VectorIndex", "Weights", "WeightsUnavailable",
]
