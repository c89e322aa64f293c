"""Media for browsers: signed tokens, the media server (local file, redirect or ranged relay), previews."""
