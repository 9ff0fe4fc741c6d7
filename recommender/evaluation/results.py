"""Evaluations kept beside the build they measured, and the tables and reports made of them."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from ..atomic import write_json_atomic
from ..data.catalogue import holdout_split
from ..goals import MAX_ROBUSTNESS_DROP_POINTS, P5_GOALS
from ..store.manifest import BACKBONE_SPACE
from ..store.names import evaluation_file, evaluation_pattern
from .protocols import EVALUATED_LABELS, K_VALUES, grouped_result
from .robustness import robustness_report


def save_evaluation(root: Path, build_id: str, result: dict) -> Path:
    """Keep an evaluation beside the build it measured (the dashboard shows it)."""
    name = f"{result['space']}-c{result['colour_weight']:g}"
    name += f"-holdout{result['holdout']:g}" if "holdout" in result else "-queries"
    name += "-vs-baseline" if "baseline" in result else ""
    name += "-distance-only" if result.get("type_first") is False else ""
    path = Path(root) / evaluation_file(build_id, name)
    write_json_atomic(path, result)
    return path


def load_saved_evaluations(root: Path, build_id: str) -> dict[str, dict]:
    """Evaluations saved for this build, by name (``imagenet-c0-holdout0.1``, ...)."""
    saved = {}
    for path in sorted(Path(root).glob(evaluation_pattern(build_id))):
        try:
            saved[path.stem.split(f"{build_id}-", 1)[1]] = json.loads(path.read_text())
        except (OSError, ValueError):
            continue  # a damaged file is simply not shown
    return saved


def evaluation_name(result: dict) -> str:
    """What an evaluation measured, in a shopper's words: "fashion model, 10% held out", ...

    >>> evaluation_name({"space": BACKBONE_SPACE, "holdout": 0.1, "colour_weight": 0.0})
    'ImageNet features, 10% held out'
    """
    model = "ImageNet features" if result["space"] == BACKBONE_SPACE else f"{result['space']} model"
    source = f"{result['holdout']:.0%} held out" if "holdout" in result else \
        f"photos of {Path(result.get('queries', 'other products')).name}"
    details = [f"colour weight {result['colour_weight']:g}"] if result.get("colour_weight") else []
    details += ["distance only"] if result.get("type_first") is False else []
    details += ["with the original design beside"] if "baseline" in result else []
    return ", ".join([f"{model}, {source}", *details])


def headline_table(saved: dict[str, dict]) -> pd.DataFrame:
    """One column per saved evaluation (named by :func:`evaluation_name`): P@5 of each label (and on the
    grouped split where measured), articleType mAP@10, Annoy recall@5."""
    def rows(result: dict) -> dict:
        figures = {f"{label} P@5": result["precision_at_k"][label]["5"]
                   for label in EVALUATED_LABELS if label in result["precision_at_k"]}
        if grouped_result(result):
            figures.update({f"{label} P@5, grouped split": result["grouped"]["precision_at_k"][label]["5"]
                            for label in ("articleType", "baseColour")})
        return {**figures, "articleType mAP@10": result["map_at_10"]["articleType"],
                "Annoy recall@5": result["annoy_recall_at_k"]["5"]}

    return pd.DataFrame({evaluation_name(result): rows(result) for result in saved.values()})


def goal_table(result: dict) -> pd.DataFrame:
    """Each goal (:data:`recommender.goals.P5_GOALS`, the robustness limit) beside what ``result`` measured,
    and whether it is met: on the grouped split where there is one (a query's twin is never in the index)."""
    measured = grouped_result(result) or result
    split = "grouped split" if measured is not result else "random split"
    rows = []
    for label, goal in P5_GOALS.items():
        if label not in measured["precision_at_k"]:
            continue  # queries that do not carry the label (a shopper's photos with their type alone)
        value = measured["precision_at_k"][label]["5"]
        low, high = measured["p5_interval"][label]
        rows.append({"goal": f"{label} P@5 >= {goal:.2f}", "measured": f"{value:.3f} ({low:.3f}-{high:.3f}), {split}",
                     "met": "met" if value >= goal else "not met"})
    if result.get("robustness"):
        worst = max(row["drop_points"] for row in result["robustness"].values())
        rows.append({"goal": f"no perturbed photo costs more than {MAX_ROBUSTNESS_DROP_POINTS:g} points",
                     "measured": f"largest drop {worst:.1f} points",
                     "met": "met" if worst <= MAX_ROBUSTNESS_DROP_POINTS else "not met"})
    return pd.DataFrame(rows).set_index("goal")


def query_kind_table(result: dict) -> pd.DataFrame | None:
    """An evaluation of a folder of photos by kind of query (phone photos whole, street photos whole, each
    garment cut to its box or found by the finder): queries, articleType P@5, its 95% interval and the space
    each kind was searched in; None for an evaluation of held-out products.

    >>> row = {"n": 3, "articleType_p5": 0.5, "interval": [0.2, 0.8], "space": "fashion-real"}
    >>> query_kind_table({"space": "fashion", "by_query_kind": {"photo, whole": row}}).iloc[0].to_dict()
    {'queries': 3, 'articleType P@5': 0.5, '95% interval': '0.200-0.800', 'space': 'fashion-real'}
    """
    if not result.get("by_query_kind"):
        return None
    return pd.DataFrame([{"query": kind, "queries": row["n"], "articleType P@5": row["articleType_p5"],
                          "95% interval": f"{row['interval'][0]:.3f}-{row['interval'][1]:.3f}",
                          "space": row.get("space", result["space"])}
                         for kind, row in result["by_query_kind"].items()]).set_index("query")


def model_choice_table(judgements: dict[str, dict]) -> pd.DataFrame:
    """How each model trained with real photos was judged on the shoppers' development photos, one row per kind of
    photo: articleType P@5 of the kind's default before and of the model, the change's 95% interval, and whether
    it became that kind's default (:meth:`recommender.CatalogueView.real_photo_judgements`)."""
    rows = []
    for space, judged in judgements.items():
        for side, row in judged.items():
            if not isinstance(row, dict):
                continue
            real = row["real_articleType"]
            low, high = (100 * value for value in real["interval"])
            rows.append({"model": space, "photos of": side, "queries": row["queries"], "against": row["against"],
                         "before": real["before"], "after": real["after"],
                         "change, points (95% interval)": f"{100 * real['change']:+.1f} ({low:+.1f} to {high:+.1f})",
                         "default": "yes" if row["wins"] else "no"})
    return pd.DataFrame(rows)


def per_type_table(result: dict) -> pd.DataFrame:
    """An evaluation's per-articleType rows (queries, articleType P@5, baseColour P@5), largest types first."""
    table = pd.DataFrame(result["per_article_type"]).T[["n", "articleType_p5", "baseColour_p5"]]
    table = table.astype({"n": int}).sort_values("n", ascending=False)
    return table.rename(columns={"n": "queries", "articleType_p5": "articleType P@5",
                                 "baseColour_p5": "baseColour P@5"}).rename_axis("articleType")


def robustness_table(result: dict) -> pd.DataFrame | None:
    """An evaluation's robustness rows (photo, type P@5 and its interval, colour P@5, drop), if it has them."""
    if "robustness" not in result:
        return None
    return pd.DataFrame([{"photo": name, "articleType P@5": row["articleType"],
                          "95% interval": "{:.3f}-{:.3f}".format(*row["articleType_interval"]),
                          "baseColour P@5": row["baseColour"], "drop (points)": row["drop_points"]}
                         for name, row in result["robustness"].items()]).set_index("photo")


def evaluation_sizes(saved: dict[str, dict]) -> str:
    """"N queries against M products" for each distinct size among saved evaluations."""
    sizes = sorted({(r["n_queries"], r["n_catalogue"]) for r in saved.values()})
    return "; ".join(f"{q:,} queries against {c:,} products" for q, c in sizes)


def held_out_product_ids(metadata: pd.DataFrame, fraction: float, *, count: int = 200, seed: int = 0) -> list[str]:
    """Up to ``count`` ids of the held-out split (in a seeded random order), e.g. as examples to show."""
    ids = metadata["id"].to_numpy()[holdout_split(metadata, fraction)]
    return ids[np.random.default_rng(seed).permutation(len(ids))[:count]].tolist()


def format_report(result: dict, baseline: dict | None = None) -> str:
    """Human-readable tables of an evaluation: both splits with 95% intervals, the baseline beside,
    robustness, and per-type figures."""
    lines = [f"{result['n_queries']:,} queries against {result['n_catalogue']:,} catalogue products, "
             f"space {result['space']!r}, colour weight {result['colour_weight']}, ranking: {result['ranking']}"]
    grouped = grouped_result(result)
    if grouped:
        lines.append(f"grouped split (near-duplicates kept together): {result['grouped']['n_queries']:,} queries "
                     f"against {result['grouped']['n_catalogue']:,}")
    header = f"{'label':<16}" + "".join(f"{'P@' + str(k):>8}" for k in K_VALUES) + f"{'P@5 95% CI':>16}{'mAP@10':>8}"
    header += f"{'grouped P@5':>24}" if grouped else ""
    header += f"{'base P@5':>10}" if baseline else ""
    lines += ["", header]
    for label in EVALUATED_LABELS:
        if label not in result["precision_at_k"]:
            continue
        low, high = result["p5_interval"][label]
        row = f"{label:<16}" + "".join(f"{result['precision_at_k'][label][str(k)]:>8.3f}" for k in K_VALUES)
        row += f"{f'{low:.3f}-{high:.3f}':>16}{result['map_at_10'][label]:>8.3f}"
        if grouped:
            g_low, g_high = grouped["p5_interval"][label]
            row += f"{grouped['precision_at_k'][label]['5']:>10.3f} ({g_low:.3f}-{g_high:.3f})"
        if baseline:
            row += f"{baseline['precision_at_k'][label]['5']:>10.3f}"
        labelled = result.get("n_labelled", {}).get(label, result["n_queries"])
        lines.append(row + (f"  ({labelled:,} of the queries carry it)" if labelled < result["n_queries"] else ""))
    unmeasured = [label for label in EVALUATED_LABELS if label not in result["precision_at_k"]]
    if unmeasured:
        lines.append(f"not measured (no query carries the label): {', '.join(unmeasured)}")
    if "by_query_kind" in result:
        spaces = {row.get("space", result["space"]) for row in result["by_query_kind"].values()}
        others = sorted(spaces - {result["space"]})
        if others:  # each kind searched as the product searches it: the figures above are one space's
            lines += ["", f"The figures above search every query in {result['space']!r}; below, each kind of query "
                          f"in the space the product searches it in ({', '.join(map(repr, others))} too)."]
        lines += ["", f"{'query':<42}{'n':>6}{'type P@5':>10}{'95% CI':>15}  space"]
        for kind, row in result["by_query_kind"].items():
            low, high = row["interval"]
            lines.append(f"{kind:<42}{row['n']:>6}{row['articleType_p5']:>10.3f}{f'{low:.3f}-{high:.3f}':>15}  "
                         f"{row.get('space', result['space'])}")
    if "finder_recall" in result:
        lines += ["", f"{'garment finder recall (IoU >= 0.5)':<36}{'n':>6}{'same kind':>11}{'any kind':>10}"]
        for kind, row in result["finder_recall"].items():
            lines.append(f"{kind:<36}{row['n']:>6}{row['same_kind']:>11.2f}{row['any_kind']:>10.2f}")
    recall = ", ".join(f"@{k}: {v:.3f}" for k, v in result["annoy_recall_at_k"].items())
    lines += ["", f"Annoy recall against exact search {recall}"]
    if "robustness" in result:
        lines += ["", robustness_report(result["robustness"])]
    lines += ["", f"{'articleType':<28}{'n':>6}{'type P@5':>10}{'colour P@5':>12}"]
    for name, row in sorted(result["per_article_type"].items(), key=lambda item: -item[1]["n"]):
        colour = "-" if row["baseColour_p5"] is None else f"{row['baseColour_p5']:.3f}"
        lines.append(f"{name[:28]:<28}{row['n']:>6}{row['articleType_p5']:>10.3f}{colour:>12}")
    return "\n".join(lines)
