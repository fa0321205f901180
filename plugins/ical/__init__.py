"""The ical plugin (in progress)."""
