"""Stage 9, pipeline: build, update and the first start, embedding locally or on Ray Data."""
