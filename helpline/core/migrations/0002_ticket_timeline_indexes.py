from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('core', '0001_initial')]

    initial = False

    operations = [
        ops.AddIndex(
            model_name='Message',
            index=Index(fields=['ticket_id', 'created_at']),
        ),
        ops.AddIndex(
            model_name='TicketEvent',
            index=Index(fields=['ticket_id', 'created_at']),
        ),
    ]
