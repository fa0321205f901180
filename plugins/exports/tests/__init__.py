"""Tests of the exports plugin, run with the shared fixtures of tests/fixtures.py."""
