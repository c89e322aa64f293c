"""HTTP routes added to Streamlit's server with st.App: media bytes and previews.

The app's URL layout lives here, not in the library: the media server is
told these prefixes and mints URLs under them.
"""

MEDIA_PREFIX = "/api/media"  # Streamlit reserves /media/; st.App user routes are mounted at the root
WAVEFORM_PREFIX = "/api/waveform"
SPECTROGRAM_PREFIX = "/api/spectrogram"
POSTER_PREFIX = "/api/poster"
MASK_PREFIX = "/api/mask"  # a segmentation mask coloured by class (its own entry, signed like any media)
# Preview name (a cell kind's previews, see shanty.tables.cells) -> its route.
PREVIEW_PREFIXES = {
    "waveform": WAVEFORM_PREFIX,
    "spectrogram": SPECTROGRAM_PREFIX,
    "poster": POSTER_PREFIX,
    "mask": MASK_PREFIX,
}

__all__ = ["MASK_PREFIX", "MEDIA_PREFIX", "POSTER_PREFIX", "PREVIEW_PREFIXES", "SPECTROGRAM_PREFIX", "WAVEFORM_PREFIX"]
