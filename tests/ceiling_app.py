"""The ceiling for the load test: a bare Flask app with one page from a small Jinja template.

Served by gunicorn with the same workers and loaded by the same clients as the knowledge
base, it shows what a request costs on this machine before the app does any work of its own
(no database, no search, no plugins): ``gunicorn tests.ceiling_app:app``.
"""

from __future__ import annotations

from flask import Flask, render_template

app = Flask(__name__)
ITEMS = tuple(f"Case study {number}" for number in range(1, 11))


@app.get("/")
def page() -> str:
    """A short list page: a template with a loop and escaped values, like a real page."""
    return render_template("ceiling.html", title="Nordic Good Practice", items=ITEMS)
