"""Visual fashion recommender: ImageNet ResNet50 features, Annoy search, Kaggle catalogue layout.

Data flows one way: images -> features -> index -> results.

>>> from recommender import Recommender
>>> recommender = Recommender.load("artifacts")                      # doctest: +SKIP
>>> recommender.search(recommender.query_from_image("shoe.jpg"), k=5)  # doctest: +SKIP
"""

from .artifacts import ArtifactError, Artifacts, load_artifacts
from .build import build_catalogue
from .catalogue import Catalogue, CatalogueReport, read_catalogue, stratified_sample
from .features import Extractor
from .images import ImageError, decode_image
from .index import VectorIndex, exact_search
from .search import RESULT_COLUMNS, Query, Recommender
from .weights import Weights, WeightsUnavailable, resolve_weights

__all__ = [
    "ArtifactError", "Artifacts", "Catalogue", "CatalogueReport", "Extractor", "ImageError", "Query",
    "RESULT_COLUMNS", "Recommender", "VectorIndex", "Weights", "WeightsUnavailable", "build_catalogue",
    "decode_image", "exact_search", "load_artifacts", "read_catalogue", "resolve_weights", "stratified_sample",
]
