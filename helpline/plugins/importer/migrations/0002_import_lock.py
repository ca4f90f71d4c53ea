from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('core', '0004_membership_by_user'), ('importer', '0001_initial')]

    initial = False

    operations = [
        ops.CreateModel(
            name='ImportLock',
            fields=[
                ('name', fields.CharField(primary_key=True, unique=True, db_index=True, max_length=50)),
                ('holder', fields.CharField(max_length=100)),
                ('source', fields.CharField(max_length=100)),
                ('started_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('expires_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'importer_lock', 'app': 'importer', 'pk_attr': 'name', 'table_description': 'The running import: one at a time per database (see :mod:`.lock`).'},
            bases=['Model'],
        ),
    ]
