"""Test-only plugins, enabled by module path (``KB_PLUGINS=default,tests.plugins.recorder``)."""
