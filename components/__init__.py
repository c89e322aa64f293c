"""UI helpers shared by the pages (this layer may import streamlit; shanty/ never does)."""
