"""Entry point: the table of pages (``streamlit run streamlit_app.py``)."""

from pathlib import Path

import streamlit as st

# The icon is a file of the app: a Material icon or an emoji is fetched from a CDN, which a machine offline lacks.
st.set_page_config(page_title="Fashion recommender", page_icon=str(Path(__file__).parent / "app" / "icon.png"),
                   layout="wide")
st.navigation([
    st.Page("app/pages/search.py", title="Search", icon=":material/image_search:", default=True),
    st.Page("app/pages/explorer.py", title="Explorer", icon=":material/scatter_plot:"),
    st.Page("app/pages/evaluation.py", title="Evaluation", icon=":material/analytics:"),
    st.Page("app/pages/about.py", title="About", icon=":material/info:"),
]).run()
