from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('core', '0001_initial'), ('core', '0002_ticket_timeline_indexes'), ('core', '0003_outbox')]

    initial = False

    operations = [
        ops.AddIndex(
            model_name='TeamMembership',
            index=Index(fields=['user_id', 'team_id']),
        ),
    ]
