"""The feeds plugin (in progress)."""
