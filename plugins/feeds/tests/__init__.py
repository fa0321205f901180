"""Tests of the feeds plugin, run with the shared fixtures of tests/fixtures.py."""
