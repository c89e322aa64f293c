"""Media for browsers, web-framework free.

``tokens`` signs and verifies media tokens; ``server`` resolves a token to a
local file, a redirect or a relay; ``relay`` reads Range headers and opens
the asked bytes of a recorded object; ``content_types`` says what a browser
is told a file is; ``waveform`` summarises audio for previews.
"""
