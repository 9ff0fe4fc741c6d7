"""Finding the garments in a shopper's photo: boxes, a kind and a score each (knows nothing of search)."""
