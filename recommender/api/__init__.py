"""Stage 10, api: the HTTP API a shop's site calls (FastAPI), its micro-batching, and its Ray Serve deployment."""
