"""Nordic Good Practice KB: case studies that worked, shared between Nordic municipalities."""

from kb.app import create_app

__all__ = ["create_app"]
