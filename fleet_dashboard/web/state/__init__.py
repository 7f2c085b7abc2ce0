"""Reflex state classes: thin layers over the services."""
