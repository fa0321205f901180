"""The root of the test tree: shares ``tests/fixtures.py`` with ``tests/`` and ``plugins/``.

pytest reads ``pytest_plugins`` only in this top-level conftest; a fixture module named here
is visible to every test below, so each first-party plugin keeps its tests in its own
package (``plugins/<name>/tests/``) and still runs on the core's fixtures.
"""

pytest_plugins = ["tests.fixtures"]


def pytest_collection_modifyitems(items: list) -> None:
    """Files holding slow tests go first: spread over processes (``make test SLOW=1``), the
    longest files then start at once instead of ending the run alone on one core."""
    slow_files = {item.path for item in items if item.get_closest_marker("slow")}
    items.sort(key=lambda item: item.path not in slow_files)
