"""End-to-end tests: the real dashboard server driven by headless Chromium (Playwright)."""
