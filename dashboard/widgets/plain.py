"""Text that came from users (link values, column and table names, error messages quoting them) shown as text.

Streamlit renders the body of ``st.error`` / ``st.warning`` / ``st.caption`` / ``st.markdown`` as Markdown: a
crafted link or column name would otherwise appear as a link, an outside image or a styled directive
inside the app's own message boxes (phishing, no script needed). Every such text goes through
:func:`plain` first.
"""

from __future__ import annotations

import re

__all__ = ["plain"]

# Markdown punctuation, ':' (directives such as :red[...], and bare URLs that would be linked) and '$' (math).
_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>~$:&])")


def plain(text: object) -> str:
    """``text`` with every Markdown-significant character escaped and line breaks as spaces."""
    return _SPECIAL.sub(r"\\\1", " ".join(str(text).splitlines()))
