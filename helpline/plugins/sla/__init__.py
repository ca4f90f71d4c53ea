"""The SLA plugin: business calendars, policies, and clocks that are right to the minute.

- :mod:`~helpline.plugins.sla.business_time`: pure business-time arithmetic (no database);
- :mod:`~helpline.plugins.sla.policies`: which policy applies, and what admins may enter;
- :mod:`~helpline.plugins.sla.clocks`: clocks reacting to ticket changes, inside their transaction;
- :mod:`~helpline.plugins.sla.jobs`: breaches, warnings and retargeting on a schedule;
- :mod:`~helpline.plugins.sla.admin` and :mod:`~helpline.plugins.sla.schema`: the admin service and GraphQL;
- :mod:`~helpline.plugins.sla.plugin`: the hook implementations, nothing else.
"""

__version__ = "0.1.0"
