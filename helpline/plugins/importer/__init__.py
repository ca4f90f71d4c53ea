"""The importer plugin: bring another help desk's history into Helpline by replaying it.

- :mod:`.mapping`: what a source's columns and values mean (a TOML or JSON mapping file; the
  ServiceNow incident log's mapping ships in ``mappings/servicenow_log.toml``);
- :mod:`.sources`: reading rows from CSV (optionally gzipped), JSON and JSON lines, streaming;
- :mod:`.ordering`: putting updates in time order with bounded memory (sorted runs, merged);
- :mod:`.replay`: the replay engine: every update goes through the core ticket service with the
  clock set to the update's time, in batched transactions, recording what it imported;
- :mod:`.sla_setup`: the SLA policy set for an imported year, and the agreement with the source's
  own SLA verdicts;
- :mod:`.progress`: the progress bar on stderr;
- :mod:`.cli`: ``helpline import ...`` and ``helpline demo``.

Why a plugin: it owns a table (what was imported, for idempotent re-runs and resume) with its own
migrations, and contributes commands through the same hooks as any plugin. It uses the SLA
plugin's admin service, when that plugin is on, to create the import's policy set (the one place a
built-in plugin imports another's module; it is a tool acting as an admin, not a capability).
"""

__version__ = "0.1.0"
