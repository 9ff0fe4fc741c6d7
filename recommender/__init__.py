"""Visual fashion recommender: ImageNet ResNet50 features, Annoy search, Kaggle catalogue layout.

Data flows one way: images -> features -> index -> results.  The names
below are the package's face: the dashboard's pages use nothing else.

>>> from recommender import Recommender
>>> recommender = Recommender.load("artifacts")                      # doctest: +SKIP
>>> recommender.search(recommender.query_from_image("shoe.jpg"), k=5)  # doctest: +SKIP
"""

from .artifacts import BACKBONE_SPACE, ArtifactError, Artifacts, NoCatalogue, load_artifacts
from .build import build_catalogue
from .catalogue import LABEL_COLUMNS, Catalogue, CatalogueReport, read_catalogue, stratified_sample
from .colour import COLOUR_DIM
from .evaluate import (evaluation_sizes, held_out_product_ids, headline_table, load_saved_evaluations,
                       per_type_table)
from .features import DEFAULT_POOLING, FEATURE_DIM, Extractor
from .hub import DatasetUnavailable, fetch_public_catalogue
from .images import FULL_FRAME, INPUT_SIZE, CropBox, ImageError, crop, decode_image
from .index import DEFAULT_N_TREES, DEFAULT_SEARCH_K, METRICS, VectorIndex, exact_search
from .projection import METHODS as MAP_METHODS
from .projection import catalogue_map, saved_map, tsne_seconds
from .quiet import tensorflow as import_tensorflow
from .search import DEFAULT_K, FILTER_COLUMNS, MAX_K, RESULT_COLUMNS, Query, Recommender
from .settings import DATASET_HELP, DEMO_SAMPLE, PROJECT_ROOT, artifacts_dir, find_dataset
from .train import EMBEDDING_DIM, HIDDEN_DIM
from .weights import Weights, WeightsUnavailable, resolve_weights

__all__ = [
    "ArtifactError", "Artifacts", "BACKBONE_SPACE", "COLOUR_DIM", "Catalogue", "CatalogueReport", "CropBox",
    "DATASET_HELP", "DEFAULT_K", "DEFAULT_N_TREES", "DEFAULT_POOLING", "DEFAULT_SEARCH_K", "DEMO_SAMPLE",
    "DatasetUnavailable", "EMBEDDING_DIM", "Extractor", "FEATURE_DIM", "FILTER_COLUMNS", "FULL_FRAME", "HIDDEN_DIM",
    "INPUT_SIZE", "ImageError", "LABEL_COLUMNS", "MAP_METHODS", "MAX_K", "METRICS", "NoCatalogue", "PROJECT_ROOT",
    "Query", "RESULT_COLUMNS", "Recommender", "VectorIndex", "Weights", "WeightsUnavailable", "artifacts_dir",
    "build_catalogue", "catalogue_map", "crop", "decode_image", "evaluation_sizes", "exact_search",
    "fetch_public_catalogue", "find_dataset", "held_out_product_ids", "headline_table", "import_tensorflow", "load_artifacts",
    "load_saved_evaluations", "per_type_table", "read_catalogue", "resolve_weights", "saved_map",
    "stratified_sample", "tsne_seconds",
]
