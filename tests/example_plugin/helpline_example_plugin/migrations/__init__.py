"""Migrations of the example plugin's Tortoise app (``example_watchers``), shipped in its own package.

Write the next one with ``helpline migrations make --app example_watchers``.
"""
