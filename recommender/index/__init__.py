"""Stage 3, index: Annoy over the catalogue vectors (build, save, memory-map, query), exact search, search_k tuning."""
