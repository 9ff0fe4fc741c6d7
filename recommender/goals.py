"""What the product promises, in one place: quality goals, limits and the win rule's labels.

Pages, reports and tests read these names; nothing else states the numbers.
"""

from __future__ import annotations

# Retrieval quality goals on held-out products (P@5 of the label), shown on the Evaluation page.
P5_GOALS = {"articleType": 0.90, "baseColour": 0.75, "masterCategory": 0.98}
# A perturbed photo (cropped, tilted, darker, ...) may cost at most this many points of articleType P@5.
MAX_ROBUSTNESS_DROP_POINTS = 5.0
# Annoy's answers must find this share of the exact 5 nearest products (search_k is tuned to reach it).
TARGET_RECALL = 0.99
# A new model wins only when its articleType P@5 rises beyond noise and its baseColour P@5 does not fall
# beyond noise (paired 95% bootstrap intervals on the same held-out queries).
COMPARED_LABELS = ("articleType", "baseColour")
