"""Domain services: plain functions over a SQLModel session, free of Reflex and HTTP."""
