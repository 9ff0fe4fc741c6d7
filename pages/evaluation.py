"""Evaluation: how good the neighbours are, per model, on products the index never saw."""

import pandas as pd
import streamlit as st

from pages.cache import get_evaluations, held_out_examples, recommender_or_stop, results_grid
from recommender.catalogue import LABEL_COLUMNS

GOALS = {"articleType": 0.90, "baseColour": 0.75, "masterCategory": 0.98}

st.title("Retrieval quality")
recommender = recommender_or_stop()
artifacts = recommender.artifacts
saved = get_evaluations(str(artifacts.root), artifacts.build_id)

if not saved:
    st.info("No evaluation of this catalogue yet. Run, for instance:\n\n"
            "`python -m recommender evaluate --holdout 0.1`\n\n"
            "(and with `--space fashion` after `python -m recommender train`), then reload.")
else:
    st.caption("Each query is a held-out product (not in the searched index); a neighbour counts when it shares "
               "the query's label. Goals: " + ", ".join(f"{k} P@5 >= {v}" for k, v in GOALS.items()) + ".")
    headline = pd.DataFrame({
        name: {**{f"{label} P@5": result["precision_at_k"][label]["5"] for label in LABEL_COLUMNS},
               "articleType mAP@10": result["map_at_10"]["articleType"],
               "Annoy recall@5": result["annoy_recall_at_k"]["5"]}
        for name, result in saved.items()
    })
    st.dataframe(headline.style.format("{:.3f}"), width="stretch")
    sizes = {(r["n_queries"], r["n_catalogue"]) for r in saved.values()}
    st.caption("; ".join(f"{q:,} queries against {c:,} products" for q, c in sorted(sizes)))
    chosen = st.selectbox("Per-articleType table of", list(saved), key="eval-table")
    per_type = pd.DataFrame(saved[chosen]["per_article_type"]).T.sort_values("n", ascending=False)
    st.dataframe(per_type, width="stretch", height=320)

st.header("Side by side")
spaces = recommender.spaces
# The split the trained space never saw (0.1 when nothing was trained: `evaluate --holdout 0.1`).
trained = [space["training"]["holdout"] for space in artifacts.manifest.get("spaces", {}).values()]
examples = held_out_examples(str(artifacts.root), artifacts.build_id, min(trained, default=0.1))
names = dict(zip(recommender.metadata["id"], recommender.metadata["productDisplayName"]))
picked = st.selectbox("A held-out product", examples, format_func=lambda i: f"{names[i]} ({i})", key="eval-pick")
k = st.slider("Neighbours", 1, 10, 5, key="eval-k")
row = recommender.row_of(picked)
st.image(str(recommender.dataset_root / recommender.metadata["image"].iloc[row]), width=140,
         caption=recommender.metadata["productDisplayName"].iloc[row])
for space in spaces:
    st.subheader(f"Model: {space}")
    results_grid(recommender.search(recommender.query_from_id(picked), k=k, space=space),
                 key=f"eval-{space}", more_like_this=False)
