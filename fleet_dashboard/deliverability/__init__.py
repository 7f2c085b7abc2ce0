"""The guards that protect an organisation's sending number: look-ups, quiet hours, the daily cap, health and pauses."""
