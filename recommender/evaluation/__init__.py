"""Stage 6, evaluation: metrics, held-out splits, the protocols that search unseen queries, robustness, the win
rule, saved results and reports."""
