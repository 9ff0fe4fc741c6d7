"""Evaluation: how good the neighbours are, per model, on products the index never saw."""

import streamlit as st

from pages.layout import recommender_or_stop, results_grid, show_photo
from pages.loaders import get_evaluations, held_out_examples
from recommender import evaluation_sizes, headline_table, per_type_table, robustness_table

GOALS = {"articleType": 0.90, "baseColour": 0.75, "masterCategory": 0.98}

st.title("Retrieval quality")
recommender = recommender_or_stop()
saved = get_evaluations(str(recommender.root), recommender.build_id)

if not saved:
    st.info("No evaluation of this catalogue yet. `python -m recommender train` measures both models on "
            "held-out products and saves the result here; or run `python -m recommender evaluate --holdout 0.1` "
            "(add `--space fashion` for the trained model), then reload.")
else:
    st.caption("Each query is a held-out product (not in the searched index); a neighbour counts when it shares "
               "the query's label. Goals: " + ", ".join(f"{k} P@5 >= {v}" for k, v in GOALS.items()) + ".")
    st.dataframe(headline_table(saved).style.format("{:.3f}"), width="stretch")
    st.caption(evaluation_sizes(saved))
    st.caption("The grouped split keeps near-identical photos and same-name products together, so a query's "
               "twin is never in the index: the figure a shopper with a new product sees.")
    chosen = st.selectbox("Per-articleType table of", list(saved), key="eval-table")
    st.dataframe(per_type_table(saved[chosen]), width="stretch", height=320)
    robust = {name: robustness_table(result) for name, result in saved.items() if "robustness" in result}
    if robust:
        st.subheader("Photos shoppers take")
        name = st.selectbox("Robustness of", list(robust), key="eval-robust")
        st.caption("Held-out queries cropped, tilted, small on a busy background, darker, flatter, compressed, "
                   "mirrored: articleType P@5 and how many points each costs against the clean photo.")
        st.dataframe(robust[name].style.format(precision=3), width="stretch")

st.header("Side by side")
# The split the trained space never saw (0.1 when nothing was trained: `evaluate --holdout 0.1`).
holdout = recommender.summary["trained_holdout"] or 0.1
examples = held_out_examples(str(recommender.root), recommender.build_id, holdout)
names = dict(zip(recommender.metadata["id"], recommender.metadata["productDisplayName"]))
picked = st.selectbox("A held-out product", examples, format_func=lambda i: f"{names[i]} ({i})", key="eval-pick")
k = st.slider("Neighbours", 1, 10, 5, key="eval-k")
show_photo(recommender.image_path(picked), caption=names[picked])
for space in recommender.spaces:
    st.subheader(f"Model: {space}")
    results_grid(recommender.search(recommender.query_from_id(picked), k=k, space=space),
                 key=f"eval-{space}", more_like_this=False)
