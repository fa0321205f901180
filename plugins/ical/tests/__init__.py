"""Tests of the ical plugin, run with the shared fixtures of tests/fixtures.py."""
