"""Evaluation: how good the neighbours are, per model, on products the index never saw."""

import streamlit as st

from app.components.catalogue import recommender_or_stop
from app.components.layout import ranking_note, results_grid, show_photo
from app.components.loaders import get_evaluations, held_out_examples
from recommender import (
    evaluation_name,
    evaluation_sizes,
    goal_table,
    headline_table,
    model_choice_table,
    per_type_table,
    query_kind_table,
    robustness_table,
)

st.title("Retrieval quality")
recommender, version = recommender_or_stop()
catalogue = recommender.catalogue
saved = get_evaluations(str(catalogue.root), version)
# The split the trained space never saw (0.1 when nothing was trained: `evaluate --holdout 0.1`).
holdout = recommender.summary["trained_holdout"] or 0.1
default = next((result for result in saved.values() if result["space"] == catalogue.default_space
                and result.get("holdout") == holdout and not result.get("colour_weight")
                and result.get("type_first") is not False and "baseline" not in result), None)

if not saved:
    st.info("No evaluation of this catalogue yet. `python -m recommender train` measures both models on "
            "held-out products and saves the result here; or run `python -m recommender evaluate --holdout 0.1` "
            "(add `--space fashion` for the trained model), then reload.")
else:
    if default is not None:
        st.subheader(f"Goals: {evaluation_name(default)} (the model searched by default)")
        goals = goal_table(default)
        met = (goals["met"] == "met").sum()
        st.caption(f"{met} of {len(goals)} goals met.")
        st.dataframe(goals, width="stretch")
    st.subheader("Every saved evaluation")
    st.caption("Each query is a held-out product (not in the searched index); a neighbour counts when it shares "
               "the query's label. The grouped split keeps near-identical photos and same-name products together, "
               "so a query's twin is never in the index: the figure a shopper with a new product sees.")
    names = {evaluation_name(result): key for key, result in saved.items()}
    # Three columns fit the page; more scroll sideways and clip, so the reader picks which to set side by side.
    first = sorted((name for name, key in names.items() if "holdout" in saved[key]),
                   key=lambda name: saved[names[name]] is not default)  # the default model's first
    compared = st.multiselect("Compare", list(names), default=(first or list(names))[:3], key="eval-compare")
    chosen_saved = {names[name]: saved[names[name]] for name in compared} or saved
    st.dataframe(headline_table(chosen_saved).style.format("{:.3f}", na_rep="-"), width="stretch")
    st.caption(evaluation_sizes(chosen_saved))
    chosen = st.selectbox("Evaluation shown per articleType", list(names), key="eval-table")
    st.dataframe(per_type_table(saved[names[chosen]]).style.format(precision=3), width="stretch", height=320)
    choices = model_choice_table(catalogue.real_photo_judgements())
    if not choices.empty:
        st.subheader("What chose the default models")
        st.caption("Each model that also learned from real photos was judged on the shoppers' development photos "
                   "against the default of each kind of photo (articleType P@5); it became that kind's default only "
                   "where it won beyond noise without losing studio P@5.")
        st.dataframe(choices.style.format({"before": "{:.3f}", "after": "{:.3f}"}), width="stretch",
                     hide_index=True)
    by_kind = {evaluation_name(result): query_kind_table(result) for result in saved.values()
               if result.get("by_query_kind")}
    if by_kind:
        st.subheader("Shoppers' photos, by kind of query")
        name = st.selectbox("Photos of", list(by_kind), key="eval-kinds")
        st.caption("Real photos never trained on (`python -m recommender evaluate --queries DIR`): phone photos "
                   "searched whole, street photos whole, each garment cut to its annotated box, and each garment "
                   "as a shopper picks it among the boxes the finder draws; each kind in the model it is searched "
                   "in.")
        st.dataframe(by_kind[name].style.format({"articleType P@5": "{:.3f}"}), width="stretch")
    robust = {evaluation_name(result): robustness_table(result) for result in saved.values() if "robustness" in result}
    if robust:
        st.subheader("Photos shoppers take")
        name = st.selectbox("Robustness of", list(robust), key="eval-robust")
        st.caption("Held-out queries cropped, tilted, small on a busy background, darker, flatter, compressed, "
                   "mirrored: articleType P@5 and how many points each costs against the clean photo.")
        st.dataframe(robust[name].style.format(precision=3), width="stretch")

st.header("Side by side")
examples = held_out_examples(str(catalogue.root), version, holdout)
metadata = catalogue.metadata.set_index("id")
types = metadata.loc[examples, "articleType"].value_counts()
kind = st.selectbox("Held-out products of the type", types.index.tolist(), key="eval-type",
                    format_func=lambda name: f"{name} ({types[name]} held out)")
shown = [item for item in examples if metadata.at[item, "articleType"] == kind]
picked = st.selectbox("A held-out product", shown, key="eval-pick",
                      format_func=lambda i: f"{metadata.at[i, 'productDisplayName']} ({i})")
k = st.slider("Neighbours", 1, 10, 5, key="eval-k")
show_photo(catalogue.image_path(picked), caption=metadata.at[picked, "productDisplayName"])
for space in catalogue.spaces:
    results = recommender.search(recommender.queries.from_id(picked), k=k, space=space)
    same = int((results["articleType"] == kind).sum())
    st.subheader(f"Model: {space}")
    st.caption(f"{same} of {len(results)} are {kind}.")
    ranking_note(bool(catalogue.type_first_weights(space)))
    results_grid(results, key=f"eval-{space}", more_like_this=False)
