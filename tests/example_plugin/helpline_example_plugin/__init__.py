"""helpline-example-plugin: an example third-party Helpline plugin in which people watch tickets.

See README.md. The hook implementations are in :mod:`helpline_example_plugin.plugin`, which the
``helpline.plugins`` entry point ``example_watchers`` names.
"""

__version__ = "0.3.0"
PLUGIN_NAME = "example_watchers"
