"""The related plugin (in progress)."""
