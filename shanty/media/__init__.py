"""Media for browsers, web-framework free.

``tokens`` signs and verifies media tokens; ``server`` resolves a token to a
local file, a redirect or a relay; ``relay`` reads Range headers and opens
the asked bytes of a recorded object; ``content_types`` says what a browser
is told a file is. Previews: ``waveform`` summarises WAV files with numpy,
``audio_decode`` every other audio format with PyAV (imported only then),
``spectrogram`` draws a mel spectrogram, ``poster`` takes a video frame,
``png`` encodes images without Pillow; all read files by ranges.
"""
