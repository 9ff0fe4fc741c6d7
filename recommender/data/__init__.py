"""Stage 1, data: the Kaggle catalogue layout, safe image decoding, colour signatures, finding or fetching
the dataset."""
