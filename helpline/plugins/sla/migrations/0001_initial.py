from tortoise import migrations
from tortoise.migrations import operations as ops
from helpline.plugins.sla.models import ClockKind, ClockPhase
from orjson import loads
from tortoise.fields.base import OnDelete
from tortoise.fields.data import JSON_DUMPS
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('core', '0003_outbox')]

    initial = True

    operations = [
        ops.CreateModel(
            name='SlaCalendar',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('name', fields.CharField(unique=True, max_length=100)),
                ('timezone', fields.CharField(max_length=64)),
                ('intervals', fields.JSONField(default=list, encoder=JSON_DUMPS, decoder=loads)),
                ('holidays', fields.JSONField(default=list, encoder=JSON_DUMPS, decoder=loads)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('updated_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'sla_calendar', 'app': 'sla', 'pk_attr': 'id', 'table_description': 'Working hours in an IANA time zone, with holidays.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='SlaPolicy',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('name', fields.CharField(unique=True, max_length=100)),
                ('position', fields.IntField(db_index=True)),
                ('calendar', fields.ForeignKeyField('sla.SlaCalendar', source_field='calendar_id', db_constraint=True, to_field='id', related_name='policies', on_delete=OnDelete.RESTRICT)),
                ('conditions', fields.JSONField(default=dict, encoder=JSON_DUMPS, decoder=loads)),
                ('targets', fields.JSONField(default=dict, encoder=JSON_DUMPS, decoder=loads)),
                ('warning_minutes', fields.IntField(default=0)),
                ('active', fields.BooleanField(default=True)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('updated_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'sla_policy', 'app': 'sla', 'pk_attr': 'id', 'table_description': 'Conditions on tickets and targets per priority; the first matching policy by ``position`` applies.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='SlaClock',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('ticket', fields.ForeignKeyField('core.Ticket', source_field='ticket_id', db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.CASCADE)),
                ('kind', fields.CharEnumField(description='FIRST_RESPONSE: first_response\nNEXT_RESPONSE: next_response\nRESOLUTION: resolution', enum_type=ClockKind, max_length=16)),
                ('phase', fields.CharEnumField(default=ClockPhase.RUNNING, description='RUNNING: running\nPAUSED: paused\nMET: met\nCANCELLED: cancelled', enum_type=ClockPhase, max_length=16)),
                ('policy', fields.ForeignKeyField('sla.SlaPolicy', source_field='policy_id', null=True, db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.SET_NULL)),
                ('calendar', fields.ForeignKeyField('sla.SlaCalendar', source_field='calendar_id', null=True, db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.SET_NULL)),
                ('target_minutes', fields.IntField(null=True)),
                ('elapsed_us', fields.BigIntField(default=0)),
                ('running_since', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('started_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('due_at', fields.DatetimeField(null=True, db_index=True, auto_now=False, auto_now_add=False)),
                ('warn_at', fields.DatetimeField(null=True, db_index=True, auto_now=False, auto_now_add=False)),
                ('met_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('breached_at', fields.DatetimeField(null=True, db_index=True, auto_now=False, auto_now_add=False)),
                ('breach_announced', fields.BooleanField(default=False)),
                ('warned', fields.BooleanField(default=False)),
            ],
            options={'table': 'sla_clock', 'app': 'sla', 'indexes': [Index(fields=['ticket_id', 'kind']), Index(fields=['phase', 'due_at'])], 'pk_attr': 'id', 'table_description': "One target's clock on one ticket."},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='SlaClockEvent',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('clock', fields.ForeignKeyField('sla.SlaClock', source_field='clock_id', db_constraint=True, to_field='id', related_name='history', on_delete=OnDelete.CASCADE)),
                ('kind', fields.CharField(max_length=16)),
                ('at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('due_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('note', fields.CharField(default='', max_length=255)),
            ],
            options={'table': 'sla_clock_event', 'app': 'sla', 'indexes': [Index(fields=['clock_id', 'id'])], 'pk_attr': 'id', 'table_description': "One line of a clock's history: started, paused, resumed, retargeted, met, reopened, breached,"},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='SlaSettings',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('pausing_statuses', fields.JSONField(default=list, encoder=JSON_DUMPS, decoder=loads)),
                ('customers_see_sla', fields.BooleanField(default=False)),
                ('config_version', fields.IntField(default=0)),
                ('clocks_version', fields.IntField(default=0)),
            ],
            options={'table': 'sla_settings', 'app': 'sla', 'pk_attr': 'id', 'table_description': "The plugin's settings, one row, edited by admins through GraphQL."},
            bases=['Model'],
        ),
    ]
