"""The root of the test tree: shares ``tests/fixtures.py`` with ``tests/`` and ``plugins/``.

pytest reads ``pytest_plugins`` only in this top-level conftest; a fixture module named here
is visible to every test below, so each first-party plugin keeps its tests in its own
package (``plugins/<name>/tests/``) and still runs on the core's fixtures.
"""

pytest_plugins = ["tests.fixtures"]
