"""A shopper's words read against the catalogue's own labels: "navy check shirt for men" names a colour, a type
and a gender; "check" is left for the products' names and the text model.

The vocabulary is the catalogue's label values (articleType, baseColour, gender, usage, season, subCategory,
masterCategory), each matched in its singular and plural forms, multi-word values first ("navy blue" before
"blue"), plus the common synonyms of :data:`SYNONYMS`. What the words cannot say in this catalogue (a price) is
said plainly.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

import pandas as pd

# The labels words can name, in the order a reading is shown ("Dresses · Pink · Women").
WORD_LABELS = ("articleType", "baseColour", "gender", "usage", "season", "subCategory", "masterCategory")
# Words shoppers use for the catalogue's values (lower case; the value must exist in the catalogue to count).
SYNONYMS: Mapping[str, tuple[str, str]] = {
    "pants": ("articleType", "Trousers"), "pant": ("articleType", "Trousers"),
    "trouser": ("articleType", "Trousers"), "chinos": ("articleType", "Trousers"),
    "sneakers": ("articleType", "Casual Shoes"), "sneaker": ("articleType", "Casual Shoes"),
    "trainers": ("articleType", "Sports Shoes"), "running shoes": ("articleType", "Sports Shoes"),
    "tee": ("articleType", "Tshirts"), "tees": ("articleType", "Tshirts"), "t shirt": ("articleType", "Tshirts"),
    "t shirts": ("articleType", "Tshirts"), "tshirt": ("articleType", "Tshirts"),
    "dress": ("articleType", "Dresses"), "frock": ("articleType", "Dresses"),
    "purse": ("articleType", "Handbags"), "bag": ("subCategory", "Bags"), "handbag": ("articleType", "Handbags"),
    "hoodie": ("articleType", "Sweatshirts"), "hoodies": ("articleType", "Sweatshirts"),
    "jumper": ("articleType", "Sweaters"), "pullover": ("articleType", "Sweaters"),
    "shades": ("articleType", "Sunglasses"), "specs": ("subCategory", "Eyewear"),
    "heel": ("articleType", "Heels"), "stilettos": ("articleType", "Heels"), "sandal": ("articleType", "Sandals"),
    "slippers": ("articleType", "Flip Flops"), "flipflops": ("articleType", "Flip Flops"),
    "cap": ("articleType", "Caps"), "hat": ("articleType", "Hat"), "coat": ("articleType", "Jackets"),
    "jacket": ("articleType", "Jackets"), "blazer": ("articleType", "Blazers"), "skirt": ("articleType", "Skirts"),
    "watch": ("articleType", "Watches"), "wallet": ("articleType", "Wallets"), "belt": ("articleType", "Belts"),
    "backpack": ("articleType", "Backpacks"), "kurta": ("articleType", "Kurtas"), "saree": ("articleType", "Sarees"),
    "sari": ("articleType", "Sarees"), "top": ("articleType", "Tops"), "shirt": ("articleType", "Shirts"),
    "jean": ("articleType", "Jeans"), "denims": ("articleType", "Jeans"), "short": ("articleType", "Shorts"),
    "shoe": ("subCategory", "Shoes"), "shoes": ("subCategory", "Shoes"), "footwear": ("masterCategory", "Footwear"),
    "navy": ("baseColour", "Navy Blue"), "grey": ("baseColour", "Grey"), "gray": ("baseColour", "Grey"),
    "golden": ("baseColour", "Gold"), "violet": ("baseColour", "Purple"), "offwhite": ("baseColour", "Off White"),
    "man": ("gender", "Men"), "men's": ("gender", "Men"), "mens": ("gender", "Men"), "male": ("gender", "Men"),
    "woman": ("gender", "Women"), "women's": ("gender", "Women"), "womens": ("gender", "Women"),
    "female": ("gender", "Women"), "ladies": ("gender", "Women"), "lady": ("gender", "Women"),
    "boy": ("gender", "Boys"), "girl": ("gender", "Girls"), "kids": ("gender", "Boys"),
    "office": ("usage", "Formal"), "work": ("usage", "Formal"), "sport": ("usage", "Sports"),
    "sporty": ("usage", "Sports"), "gym": ("usage", "Sports"), "partywear": ("usage", "Party"),
    "autumn": ("season", "Fall"), "summery": ("season", "Summer"), "wintry": ("season", "Winter"),
}
# Words that ask for what this catalogue does not record: said, not searched.
UNRECORDED = {"cheaper": "prices", "cheap": "prices", "cheapest": "prices", "expensive": "prices",
              "price": "prices", "discount": "prices", "sale": "prices", "size": "sizes", "xl": "sizes",
              "xxl": "sizes", "small": "sizes", "large": "sizes", "brand": "brands"}
# Words that carry no meaning for a search ("a shirt for men like this, but in red").
STOP_WORDS = frozenset({"a", "an", "and", "any", "but", "for", "in", "into", "like", "of", "on", "or", "please",
                        "show", "some", "something", "the", "this", "these", "those", "to", "with", "without", "me",
                        "my", "i", "want", "looking", "need", "same", "similar", "one", "ones"})
MAX_TEXT = 500  # characters read from a query; the rest is said to be ignored


@dataclass(frozen=True)
class WordsRead:
    """How a text was read: the labels it names (label -> value), its other known words (for the products'
    names and the text model), the words this catalogue does not know, and what it cannot answer."""

    labels: dict[str, str] = field(default_factory=dict)
    words: tuple[str, ...] = ()
    unknown: tuple[str, ...] = ()
    unrecorded: tuple[str, ...] = ()  # "prices", "sizes": asked for, not in this catalogue
    cut: bool = False  # the text was longer than MAX_TEXT

    @property
    def chips(self) -> list[str]:
        """The reading as a shopper sees it, label by label: ``["Dresses", "Pink", "Women"]``."""
        return [self.labels[label] for label in WORD_LABELS if label in self.labels]

    @property
    def notes(self) -> list[str]:
        """One line per thing the shopper should know about the reading."""
        lines = []
        if self.unknown:
            shown = [word if len(word) <= 20 else word[:19] + "..." for word in self.unknown[:5]]
            quoted = ", ".join(f"'{word}'" for word in shown) + (" and more" if len(self.unknown) > 5 else "")
            lines.append(f"{quoted} {'is' if len(self.unknown) == 1 else 'are'} not in this catalogue's words: "
                         "searched by the rest.")
        for what in self.unrecorded:
            lines.append(f"This catalogue records no {what}: that part of the words is not searched.")
        if self.cut:
            lines.append(f"Only the first {MAX_TEXT} characters were read.")
        return lines

    @property
    def empty(self) -> bool:
        """Whether nothing searchable was read (no label, no known word)."""
        return not (self.labels or self.words)


@dataclass(frozen=True)
class Vocabulary:
    """The catalogue's words: each label value by its lower-case phrase, and the words of the products' names.

    >>> vocabulary = Vocabulary.of(pd.DataFrame({"articleType": ["Shirts", "Jeans"], "baseColour": ["Navy Blue",
    ...     "Blue"], "gender": ["Men", "Women"], "productDisplayName": ["Turtle Check Men Navy Blue Shirt",
    ...     "Levis Women Blue Jeans"]}))
    >>> read = read_words("navy check shirts for men, cheaper", vocabulary)
    >>> read.chips, read.words, read.unrecorded
    (['Shirts', 'Navy Blue', 'Men'], ('check',), ('prices',))
    >>> read_words("velvet jeans", vocabulary).notes
    ["'velvet' is not in this catalogue's words: searched by the rest."]
    """

    phrases: Mapping[str, tuple[str, str]]  # "navy blue" -> ("baseColour", "Navy Blue")
    names: frozenset[str]  # every word of a product name, lower case
    longest: int = 1  # words in the longest phrase

    @classmethod
    def of(cls, metadata: pd.DataFrame) -> Vocabulary:
        """The vocabulary of a catalogue's labels and names."""
        phrases: dict[str, tuple[str, str]] = {}
        for label in reversed(WORD_LABELS):  # a type wins over a sub-category of the same name
            if label not in metadata:
                continue
            for value in metadata[label].dropna().unique():
                value = str(value)
                if not value:
                    continue
                for phrase in _forms(value):
                    phrases[phrase] = (label, value)
        known = {(label, value) for label in WORD_LABELS if label in metadata for value in metadata[label].unique()}
        for word, (label, value) in SYNONYMS.items():
            if (label, value) in known and word not in phrases:
                phrases[word] = (label, value)
        names = frozenset(word for name in metadata.get("productDisplayName", pd.Series(dtype=str)).astype(str)
                          for word in tokens(name))
        return cls(phrases, names, max(len(phrase.split()) for phrase in phrases) if phrases else 1)


def _forms(value: str) -> set[str]:
    """A label value's lower-case phrase in its singular and plural forms ("Casual Shoes": "casual shoe" too)."""
    phrase = " ".join(tokens(value))
    forms = {phrase}
    for form in list(forms):
        if form.endswith("ies"):
            forms.add(form[:-3] + "y")
        elif form.endswith("es") and len(form) > 4 and form[-3] in "sxz":
            forms.add(form[:-2])
        elif form.endswith("s") and not form.endswith("ss"):
            forms.add(form[:-1])
        else:
            forms.add(form + "s")
    return {form for form in forms if form}


def tokens(text: str) -> list[str]:
    """Lower-case words of a text, accents folded, punctuation and hyphens dropped (apostrophes kept inside).

    >>> tokens("Women's  Pink KURTA, off-white!")
    ["women's", 'pink', 'kurta', 'off', 'white']
    """
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower()
    return re.findall(r"[a-z0-9]+(?:'[a-z0-9]+)*", folded)


def read_words(text: str, vocabulary: Vocabulary) -> WordsRead:
    """Read a shopper's text against the catalogue's vocabulary, longest phrases first.

    A label named twice keeps its first value ("red or blue shirt" asks for red). Words neither a label nor a
    stop word are kept where a product name carries them, else reported unknown.
    """
    cut = len(text) > MAX_TEXT
    words = tokens(text[:MAX_TEXT])
    labels: dict[str, str] = {}
    kept, unknown, unrecorded = [], [], []
    i = 0
    while i < len(words):
        for size in range(min(vocabulary.longest, len(words) - i), 0, -1):
            phrase = " ".join(words[i:i + size])
            if phrase in vocabulary.phrases:
                label, value = vocabulary.phrases[phrase]
                labels.setdefault(label, value)
                i += size
                break
        else:
            word = words[i]
            if word in UNRECORDED:
                unrecorded.append(UNRECORDED[word])
            elif word in STOP_WORDS or word.isdigit():
                pass
            elif word in vocabulary.names:
                kept.append(word)
            else:
                unknown.append(word)
            i += 1
    return WordsRead(labels, tuple(dict.fromkeys(kept)), tuple(dict.fromkeys(unknown)),
                     tuple(dict.fromkeys(unrecorded)), cut)


def label_mask(metadata: pd.DataFrame, labels: Mapping[str, str]) -> pd.Series:
    """The products that carry every named label value."""
    mask = pd.Series(True, index=metadata.index)
    for label, value in labels.items():
        mask &= metadata[label] == value
    return mask


def names_mask(metadata: pd.DataFrame, words: Iterable[str]) -> pd.Series:
    """The products whose name holds every one of ``words`` (as whole words)."""
    mask = pd.Series(True, index=metadata.index)
    names = metadata["productDisplayName"].astype(str).str.lower()
    for word in words:
        mask &= names.str.contains(rf"\b{re.escape(word)}\b", regex=True)
    return mask
