"""shanty dashboard: ``streamlit run app.py``.

One process serves the pages and the media: ``app`` adds the signed media
route and the preview routes (waveform, spectrogram, poster, mask) to Streamlit's
own server (st.App), and the script part below builds the navigation.
"""

import streamlit as st
from streamlit.runtime.scriptrunner import get_script_run_ctx

from dashboard.auth import guarded, sign_in_bar
from dashboard.routes.mask import mask_routes
from dashboard.routes.media import media_routes, server_from_environment
from dashboard.routes.poster import poster_routes
from dashboard.routes.spectrogram import spectrogram_routes
from dashboard.routes.waveform import waveform_routes
from dashboard.widgets.deeplink import begin_visit
from dashboard.widgets.plain import plain
from shanty import ShantyError

app = st.App(
    __file__,
    # Each token route behind dashboard.auth's check of who asks (a no-op without sign-in and access policy).
    routes=guarded(
        [
            *media_routes(server_from_environment),
            *waveform_routes(),
            *spectrogram_routes(),
            *poster_routes(),
            *mask_routes(),
        ],
        server_from_environment,
    ),
)

if get_script_run_ctx(suppress_warning=True) is not None:  # a script run, not the import that builds the ASGI app
    st.set_page_config(page_title="shanty", page_icon="🐋", layout="wide")
    # Less empty space above each view, so a table's first rows are in the first screen.
    st.html("<style>[data-testid=stMainBlockContainer]{padding-top:3.2rem}</style>")
    page = st.navigation(
        [
            st.Page(
                "dashboard/views/artifacts.py", title="Artifacts", icon=":material/inventory_2:", default=True
            ),  # the default page is served at /
            st.Page("dashboard/views/table.py", title="Table", icon=":material/table_view:", url_path="table"),
            st.Page("dashboard/views/join.py", title="Join", icon=":material/join:", url_path="join"),
            st.Page("dashboard/views/diff.py", title="Diff", icon=":material/difference:", url_path="diff"),
            st.Page("dashboard/views/compare.py", title="Compare", icon=":material/compare:", url_path="compare"),
            st.Page("dashboard/views/map.py", title="Map", icon=":material/scatter_plot:", url_path="map"),
            st.Page("dashboard/views/runs.py", title="Runs", icon=":material/monitoring:", url_path="runs"),
        ]
    )
    sign_in_bar()  # only when Streamlit's secrets configure [auth]
    begin_visit(page.url_path)  # the URL is read on a visit's first run; the widgets own the state after it
    try:
        page.run()
    except ShantyError as exc:  # what the library says is meant for people: one sentence, never a traceback
        st.error(plain(exc))
