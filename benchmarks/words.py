"""Words beside the photo: the goals of text search, a photo refined by words, and likes, on held-out products,
with a plain keyword search over the names beside them, in one run.

    python benchmarks/words.py ARTIFACTS [--queries 500] [--seed 0]

ARTIFACTS is a built and trained catalogue whose default space has a text model (``train`` makes one;
``train-words`` for an older build). Queries are the products of the default space's near-duplicate-grouped
held-out split: the text model never read their names.

* label text: each held-out product's labels in a shopper's phrasing ("navy blue shirts for men", "women's pink
  kurtas", "casual black casual shoes"); P@5 of every label named, and a TF-IDF keyword search over the names;
* free text: the queries of ``benchmarks/free_text_queries.csv`` (written before the first measurement), judged by
  the labels they name (a result counts where it carries all of them);
* a held-out product's photo + "in <colour>" (a colour at least 5 products of its type have, not its own; the
  photo read as an upload is, its type predicted by the head): P@5 of its type and that colour, and the
  results' mean distance to the photo against the exact 5 nearest of that type and colour;
* likes: the first 10 results judged by the product's type and colour (liked where both match, disliked where
  not), one round; P@5 of type and colour together before and after;
* a text query's time in a running process, and the text model's training time.

Prints one table and writes ``benchmarks/results/words.json``.
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from recommender import Query, Recommender, load_artifacts  # noqa: E402
from recommender.evaluation.metrics import bootstrap_interval  # noqa: E402
from recommender.evaluation.protocols import evaluation_splits  # noqa: E402
from recommender.index.exact import exact_search  # noqa: E402
from recommender.training.words import train_words  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results" / "words.json"
FREE_TEXT = Path(__file__).resolve().parent / "free_text_queries.csv"
PHRASINGS = ("{colour} {kind} for {gender}", "{owner} {colour} {kind}", "{usage} {colour} {kind}")
OWNERS = {"Men": "men's", "Women": "women's", "Boys": "boys'", "Girls": "girls'", "Unisex": "unisex"}


class KeywordSearch:
    """The baseline: TF-IDF over the products' names, cosine, top k (scikit-learn)."""

    def __init__(self, names) -> None:
        from sklearn.feature_extraction.text import TfidfVectorizer

        self.vectorizer = TfidfVectorizer(sublinear_tf=True)
        self.matrix = self.vectorizer.fit_transform(names)

    def top(self, text: str, k: int) -> np.ndarray:
        scores = (self.matrix @ self.vectorizer.transform([text]).T).toarray().ravel()
        return np.argsort(-scores, kind="stable")[:k]


def phrase(product, n: int) -> tuple[str, dict[str, str]]:
    """A shopper's phrasing of a product's labels, and the labels it names."""
    template = PHRASINGS[n % len(PHRASINGS)]
    named = {"baseColour": product["baseColour"], "articleType": product["articleType"]}
    named |= {"usage": product["usage"]} if "{usage}" in template else {"gender": product["gender"]}
    text = template.format(colour=product["baseColour"].lower(), kind=product["articleType"].lower(),
                           gender=product["gender"].lower(), owner=OWNERS.get(product["gender"], ""),
                           usage=product["usage"].lower())
    return text, named


def carried(metadata, rows, named: dict[str, str]) -> dict[str, float]:
    """Each named label's share among the result rows (0 where there are none)."""
    found = metadata.iloc[list(rows)] if len(rows) else None
    return {label: float((found[label] == value).mean()) if found is not None else 0.0
            for label, value in named.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("artifacts")
    parser.add_argument("--queries", type=int, default=500)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    recommender, artifacts = Recommender.load(args.artifacts, with_model=False), load_artifacts(args.artifacts)
    metadata, catalogue = artifacts.metadata, recommender.catalogue
    space = catalogue.default_space
    entry = artifacts.manifest.spaces[space]
    holdout, seed = entry.training["holdout"], entry.training["seed"]
    held_out = np.flatnonzero(evaluation_splits(artifacts, holdout, seed=seed, space=space).grouped)
    rows = np.sort(np.random.default_rng(args.seed).permutation(held_out)[:args.queries])
    keyword = KeywordSearch(metadata["productDisplayName"].astype(str))
    report: dict = {"artifacts": args.artifacts, "space": space, "products": len(metadata), "queries": len(rows)}

    # 1. Label text, in a shopper's phrasing.
    ours, base, seconds = {}, {}, []
    for n, row in enumerate(rows):
        text, named = phrase(metadata.iloc[row], n)
        started = time.perf_counter()
        answer = recommender.answer(text=text, k=5)
        seconds.append(time.perf_counter() - started)
        found = [catalogue.row_of(item) for item in answer.results["id"]]
        for label, share in carried(metadata, found, named).items():
            ours.setdefault(label, []).append(share)
        for label, share in carried(metadata, keyword.top(text, 5), named).items():
            base.setdefault(label, []).append(share)
    report["label_text"] = {label: {"ours": float(np.mean(ours[label])), "keyword": float(np.mean(base[label])),
                                    "interval": bootstrap_interval(np.asarray(ours[label]), seed=args.seed),
                                    "n": len(ours[label])} for label in ours}
    report["text_query_ms"] = {"p50": 1000 * float(np.percentile(seconds[10:], 50)),
                               "p95": 1000 * float(np.percentile(seconds[10:], 95))}

    # 2. Free text, judged by the labels it names.
    free = []
    with open(FREE_TEXT, newline="") as handle:
        for line in csv.DictReader(handle):
            named = dict(pair.split("=", 1) for pair in line["labels"].split(";"))
            answer = recommender.answer(text=line["text"], k=5)
            found = [catalogue.row_of(item) for item in answer.results["id"]]
            every = lambda rows, named=named: float(np.mean([all(metadata.iloc[r][label] == value  # noqa: E731
                                                                 for label, value in named.items()) for r in rows]))
            free.append({"text": line["text"], "ours": every(found) if found else 0.0,
                         "keyword": every(keyword.top(line["text"], 5)), "read_as": answer.asked.chips,
                         "notes": list(answer.asked.notes)})
    report["free_text"] = {"n": len(free), "ours": float(np.mean([q["ours"] for q in free])),
                           "keyword": float(np.mean([q["keyword"] for q in free])), "queries": free}

    # 3. A held-out product's photo + "in <colour>".
    vectors = np.asarray(artifacts.space_vectors(space))
    metric = artifacts.manifest.index.metric
    hits, ratios = [], []
    for row in rows:
        product = metadata.iloc[row]
        same_type = metadata[(metadata["articleType"] == product["articleType"]) & (metadata.index != row)]
        counts = same_type["baseColour"].value_counts()
        colours = [c for c, n in counts.items() if n >= 5 and c and c != product["baseColour"]]
        if not colours:
            continue
        colour = colours[0]
        photo = Query(np.asarray(artifacts.vectors[row]), np.asarray(artifacts.colours[row]))  # read as a photo
        answer = recommender.answer(photo, text=f"in {colour.lower()}", k=5)
        found = answer.results
        hits.append(float(((found["articleType"] == product["articleType"]) & (found["baseColour"] == colour))
                          .mean()) if len(found) else 0.0)
        subset = same_type.index[same_type["baseColour"] == colour].to_numpy()
        exact = exact_search(vectors[subset], vectors[row], 5, metric=metric)[1][0]
        if len(found):
            ratios.append(float(found["distance"].mean() / max(exact.mean(), 1e-9)))
    report["photo_and_colour"] = {"n": len(hits), "p5": float(np.mean(hits)),
                                  "interval": bootstrap_interval(np.asarray(hits), seed=args.seed),
                                  "distance_ratio": float(np.mean(ratios))}

    # 4. Likes and dislikes, one round.
    before, after = [], []
    for row in rows:
        product = metadata.iloc[row]
        query = recommender.queries.from_id(product["id"])
        first = recommender.answer(query, k=10).results
        right = (first["articleType"] == product["articleType"]) & (first["baseColour"] == product["baseColour"])
        before.append(float(right.iloc[:5].mean()))
        moved = recommender.answer(query, like=first["id"][right].tolist(), dislike=first["id"][~right].tolist(),
                                   k=5).results
        after.append(float(((moved["articleType"] == product["articleType"])
                            & (moved["baseColour"] == product["baseColour"])).mean()) if len(moved) else 0.0)
    report["likes"] = {"n": len(before), "before": float(np.mean(before)), "after": float(np.mean(after)),
                       "gain_points": 100 * float(np.mean(after) - np.mean(before))}

    # 5. The text model's training, again, timed.
    started = time.perf_counter()
    train_words(args.artifacts, space=space)
    report["training_seconds"] = time.perf_counter() - started

    print(f"{len(rows)} held-out products (grouped split) of {len(metadata):,}; space {space}\n")
    print("| goal | measured | keyword search over names | goal |\n|---|---|---|---|")
    for label, row in report["label_text"].items():
        low, high = row["interval"]
        print(f"| label text, {label} P@5 (n={row['n']}) | {row['ours']:.3f} ({low:.3f}-{high:.3f}) | "
              f"{row['keyword']:.3f} | >= 0.90 |")
    print(f"| free text ({report['free_text']['n']} queries), P@5 of the named labels | "
          f"{report['free_text']['ours']:.3f} | {report['free_text']['keyword']:.3f} | >= 0.80 |")
    colour = report["photo_and_colour"]
    print(f"| photo + 'in <colour>' (n={colour['n']}), P@5 type and colour | {colour['p5']:.3f} "
          f"({colour['interval'][0]:.3f}-{colour['interval'][1]:.3f}) | | >= 0.80 |")
    print(f"| photo + 'in <colour>', mean distance / exact nearest of that type and colour | "
          f"{colour['distance_ratio']:.3f} | | <= 1.2 |")
    likes = report["likes"]
    print(f"| likes, one round (n={likes['n']}), P@5 type and colour | {likes['before']:.3f} -> {likes['after']:.3f}"
          f" ({likes['gain_points']:+.1f} points) | | >= +10 points |")
    print(f"| a text query in a running process | p50 {report['text_query_ms']['p50']:.0f} ms, p95 "
          f"{report['text_query_ms']['p95']:.0f} ms | | < 100 ms |")
    print(f"| the text model's training (whole build) | {report['training_seconds']:.1f} s | | < 60 s |")
    RESULTS.write_text(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
