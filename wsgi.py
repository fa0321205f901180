"""WSGI entry point: ``gunicorn wsgi:app`` (configuration from ``KB_*`` variables).

With ``gunicorn.conf.py`` (read from the working directory, or given with ``-c``), gunicorn
loads this module once, in its master, and forks the workers from it (``preload_app``):
they share the loaded app's memory, and ``kb.serving``'s hooks start each worker's search
drainer after the fork. Without it (a plain ``gunicorn wsgi:app`` elsewhere), each worker
imports this module and starts its own drainer here. Either way pending index changes
(after a crash, or left by a busy request) are applied without waiting for a write.
"""

from kb import create_app, serving
from kb.services.indexing import drainer

app = create_app()
if not serving.preloading():
    drainer.start(app)
