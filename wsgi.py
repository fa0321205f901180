"""WSGI entry point: ``gunicorn wsgi:app`` (configuration from ``KB_*`` variables).

Each worker imports this module, so each starts its search drainer: pending index changes
(after a crash, or left by a busy request) are applied without waiting for a write.
"""

from kb import create_app
from kb.services.indexing import drainer

app = create_app()
drainer.start(app)
