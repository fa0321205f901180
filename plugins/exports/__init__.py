"""The exports plugin (in progress)."""
