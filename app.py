"""shanty dashboard entry point: ``streamlit run app.py``."""

import streamlit as st

st.set_page_config(page_title="shanty", page_icon="🐋", layout="wide")

page = st.navigation([st.Page("pages/artifacts.py", title="Artifacts", icon="📦", default=True)])
page.run()
