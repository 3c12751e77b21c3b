//! The issue-4 scenario in a real headless Chromium (chromedriver + fantoccini).
