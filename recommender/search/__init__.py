"""Stage 5, search: photo or product in, ranked products out; the ranking rules, in one order."""
