"""The Streamlit dashboard: everything that imports streamlit or starlette lives here."""
