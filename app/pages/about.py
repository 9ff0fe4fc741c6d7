"""About: what the numbers on the other pages mean; every figure comes from the code's constants."""

import streamlit as st

from app.components.catalogue import recommender_or_stop
from recommender import (
    COLOUR_DIM,
    DEFAULT_INPUT_SIZE,
    DEFAULT_N_TREES,
    DEFAULT_POOLING,
    DEFAULT_SEARCH_K,
    EMBEDDING_DIM,
    FEATURE_DIM,
    HIDDEN_DIM,
    INPUT_SIZES,
    PREDICTED_LABELS,
    TARGET_RECALL,
)

POOLING_NAMES = {"avg": "the average", "max": "the maximum"}

st.title("How it works")
st.markdown(rf"""
**1. Features: ResNet50.** Each photo is fitted into a square of {DEFAULT_INPUT_SIZE}x{DEFAULT_INPUT_SIZE} pixels by
default (padded with its own background colour, so shapes are not stretched; a catalogue can be built at
{", ".join(str(size) for size in INPUT_SIZES if size != DEFAULT_INPUT_SIZE)} pixels instead, for less work per
photo), converted to BGR with the ImageNet mean subtracted
(`preprocess_input`), and passed through ResNet50, 50 layers trained on the 1.28 million photos of ImageNet.
Its *residual blocks* compute $y = F(x) + x$: each block learns a correction $F$ (three convolutions,
1x1 -> 3x3 -> 1x1, with batch normalisation and ReLU) added to its input, which lets gradients pass
through 16 blocks and lets deep layers describe parts, textures and shapes. The last block gives a
$7 \times 7 \times {FEATURE_DIM}$ map at 224 pixels (the input's side / 32 each way): {FEATURE_DIM} detectors,
each at 49 places.
*Global pooling* summarises each detector over the image: the average $v_c = \frac{{1}}{{49}}\sum_{{i,j}} a_{{ijc}}$
or the maximum; this catalogue's default is {POOLING_NAMES[DEFAULT_POOLING]}, chosen by measurement.
The result is one vector $v \in \mathbb{{R}}^{{{FEATURE_DIM}}}$.

**2. Why L2-normalise.** Vectors are divided by their length, $\hat v = v / \lVert v \rVert$. Their length
mostly follows contrast and how much of the frame the product fills, not what it is; on the unit sphere
only the direction, the mix of detected features, counts.

**3. Distance.** For unit vectors the Euclidean distance is $\lVert \hat u - \hat v \rVert =
\sqrt{{2 - 2\cos\theta}}$: it ranks exactly like cosine similarity. 0 means the same features,
$\sqrt{{2}} \approx 1.41$ unrelated ones, 2 opposite. The distance shown under each result is this number.

**4. Transfer learning (model "fashion").** A small head ({FEATURE_DIM}+{COLOUR_DIM} -> {HIDDEN_DIM} ->
{EMBEDDING_DIM}, unit-normalised) is trained on the catalogue's own labels (articleType, subCategory,
masterCategory, baseColour, gender) with cosine classifiers, on frozen ResNet50 vectors plus a {COLOUR_DIM}-bin
colour histogram. Products of the same type and colour end up close on the sphere, which is what the search
rewards. Training never sees the held-out products used to measure it. A head may also learn from real
photos (phone photos of garments: model "fashion-real"; and garments cut out of street photos too:
"fashion-street"), or from phone-like copies of the catalogue's own photos; they teach it, they are never
results, and it is searched by default only where it wins on other real photos, judged for each kind of photo
on its own: a photo of a product (a catalogue shot, a shirt on a bed) and a garment someone wears can each have
their model (the sidebar's "Automatic"; picking a model searches every photo in it).

**5. Annoy.** Annoy builds `n_trees` random-projection trees (default {DEFAULT_N_TREES}): at each node it picks
two points, splits the space by the hyperplane halfway between them, and recurses until a leaf holds few items.
A query walks all trees at once, always exploring the nodes closest to the splitting planes first, until it has
collected `search_k` candidates (-1 means `n_trees x k`), then ranks those candidates by exact distance.
More trees give each true neighbour more chances to land in a visited leaf (better recall, bigger file, longer
build); a larger `search_k` visits more leaves per query (better recall, slower queries). Exact search compares
the query with every product; Annoy only with a few thousand. The default `search_k` is measured for each
catalogue when its index is built: the smallest that finds {TARGET_RECALL:.0%} of the exact 5 nearest products
of a few hundred of its own products ({DEFAULT_SEARCH_K:,} where it was never measured).

**Shop the look.** A garment finder reads ResNet50's finer map (stride 16) with a small parser trained on
street photos labelled pixel by pixel: every cell gets a kind (top, jacket or coat, dress, trousers or skirt,
shoes, bag, accessory, the wearer, the background), and each region of one kind (grown over the cells still
likely of its kind, joined to its neighbours of the same kind; one garment read as two kinds is one box) becomes
a numbered box. Where a person wears them in a real scene, each garment is searched on its own, cut to its box
with a margin, its colour read from its own pixels; a studio shot or a garment on a bed is searched whole. A
product lying small on a plain table or wall is cut down to itself first, unless the photo is a catalogue
product's own.

**6. Type first.** The fashion model's classifiers also read the photo: they give a probability for each
{" and ".join(PREDICTED_LABELS)} (the "Looks like" line). Each candidate then pays a penalty
$w \, (1 - p)$ on top of its distance, where $p$ is the probability of *its* label under the photo's
prediction: products of the type and colour the photo most likely shows come first. The weights $w$ were chosen
on products held out of training (a validation split), never on the products used to measure the model.
""")
recommender, _ = recommender_or_stop()
summary = recommender.summary
st.caption(f"This catalogue: {summary['count']:,} products, input {summary['input_size']}x{summary['input_size']}, "
           f"pooling {summary['pooling']}, resize {summary['resize']}, "
           f"{summary['precision']} compute on {summary['runtime']} (built on {summary['built_on']}), "
           f"{summary['backbone']} ResNet50 weights (sha256 "
           f"{summary['weights_sha256'][:12]}...), {summary['metric']} Annoy index with {summary['n_trees']} trees, "
           f"search_k {summary['search_k']:,}.")
