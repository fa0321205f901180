"""Tests of the related plugin, run with the shared fixtures of tests/fixtures.py."""
