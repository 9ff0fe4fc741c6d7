"""The Streamlit dashboard: pages (thin stories) and the components they share."""
