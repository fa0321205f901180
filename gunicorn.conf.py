"""gunicorn's settings for this app: read from the working directory by default; ``make
serve``, the load tests and the bench name it with ``-c gunicorn.conf.py``.

``preload_app``: the master loads the app once and forks the workers from it, so they share
its memory (modules, compiled templates, translations, search analysers) instead of each
loading its own. ``kb.serving``'s hooks load in the master what workers share, let go of
what must not cross a fork (database connections, the search index's files, threads) and
start each worker's search drainer; see that module. Workers, address, timeouts and logs
stay on the command line (or in ``GUNICORN_CMD_ARGS``).
"""

from kb import serving

preload_app = True
on_starting = serving.on_starting
pre_fork = serving.pre_fork
post_fork = serving.post_fork
