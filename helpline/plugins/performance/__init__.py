"""The team performance plugin: per-ticket metrics from the event log, and reports over them.

- :mod:`.metrics`: the pure fold from a ticket's events to its metrics;
- :mod:`.service`: keeping them (incrementally from the event hooks; ``rebuild`` from the log);
- :mod:`.periods`: report periods and day/week/month buckets in any IANA time zone;
- :mod:`.report`: reports as SQL aggregations over the per-ticket table;
- :mod:`.access`: who may see which figures;
- :mod:`.schema`, :mod:`.cli`: the GraphQL fields and the ``helpline performance`` commands;
- :mod:`.hookspecs`: the hooks it declares (business minutes, extra report columns);
- :mod:`.plugin`: the hook implementations.
"""
