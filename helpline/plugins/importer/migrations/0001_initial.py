from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise.fields.base import OnDelete
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('core', '0001_initial')]

    initial = True

    operations = [
        ops.CreateModel(
            name='ImportState',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('source', fields.CharField(max_length=100)),
                ('key', fields.CharField(max_length=200)),
                ('ticket', fields.ForeignKeyField('core.Ticket', source_field='ticket_id', db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.CASCADE)),
                ('last_seq', fields.BigIntField()),
                ('last_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('closed', fields.BooleanField(default=False)),
                ('source_sla_met', fields.BooleanField(null=True)),
            ],
            options={'table': 'importer_state', 'app': 'importer', 'unique_together': (('source', 'key'),), 'pk_attr': 'id', 'table_description': 'One imported source ticket: its Helpline ticket and the last source update applied.'},
            bases=['Model'],
        ),
    ]
