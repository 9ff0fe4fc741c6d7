"""Stage 8, explore: 2-D maps of an embedding space and the views a browser can draw of them."""
