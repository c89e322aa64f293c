"""Widgets shared by the views: pickers, query controls, the media table, deep links."""
