"""First-party plugins, one package each; they import only ``kb.toolkit`` from the core.

Each is enabled by naming it in ``KB_PLUGINS`` (see ``docs/plugins.md``).
"""
