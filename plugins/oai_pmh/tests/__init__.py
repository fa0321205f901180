"""Tests of the oai_pmh plugin, run with the shared fixtures of tests/fixtures.py."""
