"""HTTP routes added to Streamlit's server with st.App: media bytes and previews."""
