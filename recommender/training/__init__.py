"""Stage 7, training: the fashion head on frozen vectors, its type-first weights, fine-tuning conv5."""
