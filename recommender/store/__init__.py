"""Stage 4, store: the artifacts folder, written atomically, checked on load; the typed manifest and its one writer."""
