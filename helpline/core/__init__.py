"""The Helpline core: people, tickets, messages, the lifecycle, and the hooks that announce them.

The core never imports :mod:`helpline.schema` or a plugin.
"""
