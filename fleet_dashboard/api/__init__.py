"""The HTTP API, mounted on the same port as the dashboard."""
