"""Entry point: the table of pages (``streamlit run streamlit_app.py``)."""

import streamlit as st

st.set_page_config(page_title="Fashion recommender", page_icon=":material/checkroom:", layout="wide")
st.navigation([
    st.Page("app/pages/search.py", title="Search", icon=":material/image_search:", default=True),
    st.Page("app/pages/explorer.py", title="Explorer", icon=":material/scatter_plot:"),
    st.Page("app/pages/evaluation.py", title="Evaluation", icon=":material/analytics:"),
    st.Page("app/pages/about.py", title="About", icon=":material/info:"),
]).run()
