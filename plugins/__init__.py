"""First-party plugins, one package each (the plugin mechanism arrives with issue #6)."""
