"""The kinds of garment the finder tells apart, and how other vocabularies map onto them.

The parser labels every cell of a photo's feature map with one of :data:`KINDS`. The street
photos it learns from name 58 things per pixel (clothing-co-parsing's labels); the catalogue and
its shoppers' photos use Kaggle's articleType. Both map here, so the finder's boxes can be scored
against annotated garments and its kinds shown to a shopper ("1 Top · 2 Trousers · 3 Bag").
"""

from __future__ import annotations

import numpy as np

# Index 0 and 1 are not garments: what the photo shows around the wearer, and the wearer's skin and hair.
KINDS = ("background", "person", "top", "outerwear", "dress", "bottom", "shoes", "bag", "accessory")
GARMENT_KINDS = KINDS[2:]
SHOWN = {"top": "Top", "outerwear": "Jacket or coat", "dress": "Dress", "bottom": "Trousers or skirt",
         "shoes": "Shoes", "bag": "Bag", "accessory": "Accessory"}

_SOURCE_LABELS = {
    "person": ("skin", "hair"),
    "top": ("blouse", "bodysuit", "bra", "hoodie", "jumper", "shirt", "sweater", "sweatshirt", "t-shirt", "top"),
    "outerwear": ("blazer", "cape", "cardigan", "coat", "jacket", "suit", "vest"),
    "dress": ("dress", "romper", "swimwear"),
    "bottom": ("jeans", "leggings", "pants", "panties", "shorts", "skirt", "tights", "stockings"),
    "shoes": ("boots", "clogs", "flats", "heels", "loafers", "pumps", "sandals", "shoes", "sneakers", "wedges",
              "socks"),
    "bag": ("bag", "purse", "wallet"),
    "accessory": ("accessories", "belt", "bracelet", "earrings", "glasses", "gloves", "hat", "intimate",
                  "necklace", "ring", "scarf", "sunglasses", "tie", "watch"),
}
_ARTICLE_TYPES = {
    "top": ("Tops", "Shirts", "Tshirts", "Sweaters", "Sweatshirts", "Kurtas", "Kurtis", "Tunics", "Camisoles",
            "Lounge Tshirts"),
    "outerwear": ("Jackets", "Blazers", "Waistcoat", "Rain Jacket", "Shrug", "Nehru Jackets"),
    "dress": ("Dresses", "Jumpsuit", "Rompers"),
    "bottom": ("Trousers", "Jeans", "Skirts", "Shorts", "Leggings", "Track Pants", "Capris", "Jeggings", "Tights",
               "Stockings", "Lounge Pants", "Lounge Shorts", "Churidar", "Salwar", "Patiala"),
    "shoes": ("Casual Shoes", "Sports Shoes", "Formal Shoes", "Heels", "Flats", "Sandals", "Sports Sandals",
              "Flip Flops"),
    "bag": ("Handbags", "Wallets", "Clutches", "Backpacks", "Laptop Bag", "Duffel Bag", "Messenger Bag",
            "Mobile Pouch", "Rucksacks", "Waist Pouch", "Trolley Bag", "Tablet Sleeve"),
    "accessory": ("Belts", "Scarves", "Ties", "Caps", "Hat", "Headband", "Sunglasses", "Watches", "Stoles",
                  "Mufflers", "Gloves", "Bracelet", "Bangle", "Earrings", "Necklace and Chains", "Pendant", "Ring",
                  "Jewellery Set"),
}


def kind_of_source_label(name: str) -> int:
    """The :data:`KINDS` index of a street photo's per-pixel label name (0, background, for the rest).

    >>> KINDS[kind_of_source_label("purse")], KINDS[kind_of_source_label("null")]
    ('bag', 'background')
    """
    for kind, names in _SOURCE_LABELS.items():
        if name in names:
            return KINDS.index(kind)
    return 0


def kind_of_article_type(article_type: str) -> str | None:
    """The garment kind a Kaggle articleType is (None: not one the finder looks for).

    >>> kind_of_article_type("Handbags"), kind_of_article_type("Perfume and Body Mist")
    ('bag', None)
    """
    return next((kind for kind, types in _ARTICLE_TYPES.items() if article_type in types), None)


def kinds_of_article_types(article_types) -> np.ndarray:
    """Each articleType's garment kind ("" where it is none), as an array beside the types.

    >>> kinds_of_article_types(["Jeans", "Perfume and Body Mist"]).tolist()
    ['bottom', '']
    """
    return np.array([kind_of_article_type(str(article_type)) or "" for article_type in article_types], dtype=object)


# The Kaggle articleType a street photo's garment label stands for, where one does (a shopper searching it
# expects that type); the rest teach nothing about types.
ARTICLE_TYPE_OF_SOURCE = {
    "bag": "Handbags", "purse": "Handbags", "wallet": "Wallets", "belt": "Belts", "scarf": "Scarves",
    "blazer": "Blazers", "blouse": "Tops", "top": "Tops", "shirt": "Shirts", "t-shirt": "Tshirts",
    "sweater": "Sweaters", "jumper": "Sweaters", "cardigan": "Sweaters", "sweatshirt": "Sweatshirts",
    "hoodie": "Sweatshirts", "coat": "Jackets", "jacket": "Jackets", "dress": "Dresses", "skirt": "Skirts",
    "pants": "Trousers", "jeans": "Jeans", "shorts": "Shorts", "leggings": "Leggings", "sandals": "Sandals",
    "heels": "Heels", "sneakers": "Casual Shoes", "shoes": "Casual Shoes", "loafers": "Casual Shoes",
    "flats": "Flats", "boots": "Casual Shoes", "sunglasses": "Sunglasses", "tie": "Ties", "watch": "Watches",
}
