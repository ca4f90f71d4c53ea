"""Migrations of the core app (``core``): one module per schema version, applied in order.

Create the next one after changing ``helpline/core/models.py`` with
``helpline migrations make --app core``; never edit one that has been released.
"""
