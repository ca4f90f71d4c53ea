from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('core', '0001_initial'), ('performance', '0001_initial')]

    initial = False

    operations = [
        ops.AlterModelOptions(
            name='PerformanceTicket',
            options={'table': 'performance_ticket', 'app': 'performance', 'indexes': [Index(fields=['assignee_id', 'created_us']), Index(fields=['team_id', 'created_us']), Index(fields=['created_us', 'team_id', 'assignee_id', 'organization_id', 'channel', 'priority', 'category', 'first_response_minutes', 'first_response_business']), Index(fields=['last_solved_us', 'team_id', 'assignee_id', 'organization_id', 'channel', 'priority', 'category', 'first_resolution_minutes', 'first_resolution_business', 'full_resolution_minutes', 'full_resolution_business', 'requester_wait_minutes', 'requester_wait_business', 'agent_work_minutes', 'agent_work_business', 'on_hold_minutes', 'on_hold_business', 'reopens', 'one_touch', 'agent_replies', 'reassignments'])], 'pk_attr': 'ticket_id', 'table_description': 'Performance metrics of one ticket, maintained from its event log.'},
        ),
        ops.AddIndex(
            model_name='PerformanceTicket',
            index=Index(fields=['created_us', 'team_id', 'assignee_id', 'organization_id', 'channel', 'priority', 'category', 'first_response_minutes', 'first_response_business']),
        ),
        ops.AddIndex(
            model_name='PerformanceTicket',
            index=Index(fields=['last_solved_us', 'team_id', 'assignee_id', 'organization_id', 'channel', 'priority', 'category', 'first_resolution_minutes', 'first_resolution_business', 'full_resolution_minutes', 'full_resolution_business', 'requester_wait_minutes', 'requester_wait_business', 'agent_work_minutes', 'agent_work_business', 'on_hold_minutes', 'on_hold_business', 'reopens', 'one_touch', 'agent_replies', 'reassignments']),
        ),
    ]
