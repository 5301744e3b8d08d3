"""Security helpers: outbound URL checks (urls.py), authentication throttling (throttle.py)."""
