from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise.fields.base import OnDelete
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('core', '0001_initial')]

    initial = True

    operations = [
        ops.CreateModel(
            name='PerformanceEpisode',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('ticket', fields.ForeignKeyField('core.Ticket', source_field='ticket_id', db_constraint=True, to_field='id', related_name='performance_episodes', on_delete=OnDelete.CASCADE)),
                ('seq', fields.IntField()),
                ('started_us', fields.BigIntField()),
                ('ended_us', fields.BigIntField(db_index=True)),
                ('first_response_us', fields.BigIntField(null=True)),
                ('first_response_minutes', fields.FloatField(null=True)),
                ('first_response_business', fields.FloatField(null=True)),
            ],
            options={'table': 'performance_episode', 'app': 'performance', 'unique_together': (('ticket', 'seq'),), 'pk_attr': 'id', 'table_description': 'One episode of a ticket: from creation or a reopening until it was resolved.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='PerformanceTicket',
            fields=[
                ('ticket', fields.OneToOneField('core.Ticket', source_field='ticket_id', primary_key=True, db_index=True, db_constraint=True, to_field='id', related_name='performance', on_delete=OnDelete.CASCADE)),
                ('status', fields.CharField(max_length=16)),
                ('team_id', fields.IntField(null=True)),
                ('assignee_id', fields.IntField(null=True)),
                ('organization_id', fields.IntField(null=True)),
                ('requester_id', fields.IntField(null=True)),
                ('channel', fields.CharField(max_length=16)),
                ('priority', fields.SmallIntField()),
                ('category', fields.CharField(null=True, max_length=100)),
                ('created_us', fields.BigIntField(db_index=True)),
                ('first_solved_us', fields.BigIntField(null=True)),
                ('last_solved_us', fields.BigIntField(null=True, db_index=True)),
                ('reopens', fields.IntField(default=0)),
                ('assignments', fields.IntField(default=0)),
                ('reassignments', fields.IntField(default=0)),
                ('agent_replies', fields.IntField(default=0)),
                ('one_touch', fields.BooleanField(default=False)),
                ('first_response_minutes', fields.FloatField(null=True)),
                ('first_resolution_minutes', fields.FloatField(null=True)),
                ('full_resolution_minutes', fields.FloatField(null=True)),
                ('requester_wait_minutes', fields.FloatField(default=0.0)),
                ('agent_work_minutes', fields.FloatField(default=0.0)),
                ('on_hold_minutes', fields.FloatField(default=0.0)),
                ('first_response_business', fields.FloatField(null=True)),
                ('first_resolution_business', fields.FloatField(null=True)),
                ('full_resolution_business', fields.FloatField(null=True)),
                ('requester_wait_business', fields.FloatField(null=True)),
                ('agent_work_business', fields.FloatField(null=True)),
                ('on_hold_business', fields.FloatField(null=True)),
                ('segment_started_us', fields.BigIntField(null=True)),
                ('last_event_id', fields.BigIntField(default=0)),
            ],
            options={'table': 'performance_ticket', 'app': 'performance', 'indexes': [Index(fields=['assignee_id', 'created_us']), Index(fields=['team_id', 'created_us'])], 'pk_attr': 'ticket_id', 'table_description': 'Performance metrics of one ticket, maintained from its event log.'},
            bases=['Model'],
        ),
    ]
