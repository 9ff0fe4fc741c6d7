"""The API's JSON shapes, documented field by field with examples (the OpenAPI page at ``/docs``)."""

from __future__ import annotations

from pydantic import BaseModel, Field

from ..store.manifest import BACKBONE_SPACE


class Product(BaseModel):
    """A catalogue product, in the columns of ``query --json``."""

    id: str = Field(description="Catalogue id", examples=["15970"])
    productDisplayName: str = Field(description="Name", examples=["Turtle Check Men Navy Blue Shirt"])
    articleType: str = Field(description="Type", examples=["Shirts"])
    baseColour: str = Field(description="Colour", examples=["Navy Blue"])
    masterCategory: str = Field(examples=["Apparel"])
    subCategory: str = Field(examples=["Topwear"])
    gender: str = Field(examples=["Men"])
    image_path: str = Field(description="The photo, relative to the dataset folder (GET .../image serves it)",
                            examples=["images/15970.jpg"])


class Result(Product):
    """A search result: a product, its rank and its distance to the query."""

    rank: int = Field(description="1 for the most similar", examples=[1])
    distance: float | None = Field(description="Euclidean distance between unit vectors (0 to 2); under type "
                                               "first results are ordered by distance plus a type penalty, so "
                                               "distances need not rise", examples=[0.412])


class Prediction(BaseModel):
    value: str = Field(examples=["Shirts"])
    probability: float = Field(ge=0, le=1, examples=[0.83])


class Words(BaseModel):
    """How a search's words were read."""

    labels: dict[str, str] = Field(description="The catalogue labels the words named (every result carries them)",
                                   examples=[{"articleType": "Shirts", "baseColour": "Navy Blue", "gender": "Men"}])
    words: list[str] = Field(description="Other words, matched in the products' names and by the text model",
                             examples=[["check"]])
    notes: list[str] = Field(description="What the shopper should know: unknown words, what this catalogue does "
                                         "not record, labels let go", examples=[[]])


class SearchResponse(BaseModel):
    """The answer to a search: the build that answered, what the photo was read as, the results."""

    build_id: str = Field(description="The catalogue build that answered", examples=["20261201T104808-4f1f07"])
    space: str = Field(description="The embedding space searched", examples=["fashion"])
    warning: str | None = Field(default=None, description="Where the photo seems to show no fashion product (it "
                                                          "lies far from every product): why the results may not "
                                                          "fit; null otherwise", examples=[None])
    read_as: dict[str, list[Prediction]] = Field(
        description="What a trained space takes the query for (articleType, baseColour), likeliest first; "
                    "empty for the ImageNet space")
    words: Words | None = Field(default=None, description="How the words (text, like, dislike) were read; "
                                                          "null for a search of a photo or product alone")
    results: list[Result]


class LookPart(BaseModel):
    """One part of a photo searched on its own: a garment the finder found, or the whole photo (the last part)."""

    number: int = Field(description="1 for the most prominent garment; the whole photo comes last", examples=[1])
    label: str = Field(description="What a shopper reads on its chip", examples=["Top"])
    kind: str | None = Field(description="The garment's kind (null for the whole photo)", examples=["top"])
    other_kinds: list[str] = Field(default=[], description="Other kinds the finder also read this garment as (a "
                                                           "jacket read partly as a top)", examples=[["outerwear"]])
    score: float | None = Field(description="The finder's confidence in the garment, 0 to 1 (null for the whole "
                                            "photo)", examples=[0.82])
    box: list[float] = Field(description="left, top, right, bottom as fractions of the photo's width and height",
                             examples=[[0.21, 0.18, 0.74, 0.55]])
    space: str = Field(description="The embedding space this part was searched in (a worn garment's can differ "
                                   "from a product photo's)", examples=["fashion-street"])
    read_as: dict[str, list[Prediction]] = Field(description="What a trained space takes this part for")
    results: list[Result]


class LookResponse(BaseModel):
    """Shop the look: every garment found in the photo, each with its own results, then the whole photo."""

    build_id: str = Field(examples=["20261201T104808-4f1f07"])
    space: str = Field(description="The space the first part was searched in (each part names its own)",
                       examples=["fashion-street"])
    finder: bool = Field(description="Whether a garment finder is trained on this server (train-finder); "
                                     "without one the photo is searched whole", examples=[True])
    parts: list[LookPart]


class CatalogueInfo(BaseModel):
    """What the API serves: the build, its size, its spaces and the values each filter takes."""

    build_id: str = Field(examples=["20261201T104808-4f1f07"])
    created: str = Field(description="UTC, ISO 8601", examples=["2026-12-01T10:48:08Z"])
    products: int = Field(examples=[42243])
    spaces: list[str] = Field(examples=[[BACKBONE_SPACE, "fashion"]])
    default_space: str = Field(description="The space a photo of a product is searched in", examples=["fashion"])
    worn_space: str = Field(description="The space a garment someone wears is searched in (/v1/look's garments "
                                        "and their photo whole)", examples=["fashion-street"])
    filters: dict[str, list[str]] = Field(description="Filter column -> the values it takes",
                                          examples=[{"gender": ["Boys", "Girls", "Men", "Unisex", "Women"]}])


class Health(BaseModel):
    status: str = Field(examples=["alive"])
    build_id: str | None = Field(default=None, examples=["20261201T104808-4f1f07"])


class Error(BaseModel):
    """Every error: one line saying what was wrong."""

    error: str = Field(examples=["No product with id '999' in this catalogue"])
