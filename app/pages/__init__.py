"""The dashboard's pages, listed by streamlit_app.py (st.navigation)."""
