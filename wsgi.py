"""WSGI entry point: ``gunicorn wsgi:app`` (configuration from ``KB_*`` variables)."""

from kb import create_app

app = create_app()
