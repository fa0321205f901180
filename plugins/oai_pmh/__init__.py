"""The oai_pmh plugin (in progress)."""
