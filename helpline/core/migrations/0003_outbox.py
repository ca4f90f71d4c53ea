from tortoise import migrations
from tortoise.migrations import operations as ops
from helpline.core.enums import EffectStatus
from orjson import loads
from tortoise.fields.data import JSON_DUMPS
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('core', '0002_ticket_timeline_indexes')]

    initial = False

    operations = [
        ops.CreateModel(
            name='OutboxEffect',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('kind', fields.CharField(max_length=200)),
                ('payload', fields.JSONField(encoder=JSON_DUMPS, decoder=loads)),
                ('idempotency_key', fields.CharField(unique=True, max_length=200)),
                ('status', fields.CharEnumField(default=EffectStatus.PENDING, description='PENDING: pending\nDELIVERED: delivered\nDEAD: dead', enum_type=EffectStatus, max_length=16)),
                ('attempts', fields.IntField(default=0)),
                ('next_attempt_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('locked_until', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('locked_by', fields.CharField(default='', max_length=200)),
                ('last_error', fields.TextField(null=True, unique=False)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('delivered_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'helpline_outbox_effect', 'app': 'core', 'indexes': [Index(fields=['status', 'next_attempt_at'])], 'pk_attr': 'id', 'table_description': 'An effect outside the database (a webhook, a mail, a push), written in the transaction of the'},
            bases=['Model'],
        ),
    ]
