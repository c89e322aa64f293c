"""HTTP routes added to Streamlit's server with st.App: media bytes and previews.

The app's URL layout lives here, not in the library: the media server is
told these prefixes and mints URLs under them.
"""

MEDIA_PREFIX = "/api/media"  # Streamlit reserves /media/; st.App user routes are mounted at the root
WAVEFORM_PREFIX = "/api/waveform"
PREVIEW_PREFIXES = {"waveform": WAVEFORM_PREFIX}  # preview name (a cell kind's previews) -> its route

__all__ = ["MEDIA_PREFIX", "PREVIEW_PREFIXES", "WAVEFORM_PREFIX"]
