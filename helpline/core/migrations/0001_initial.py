from tortoise import migrations
from tortoise.migrations import operations as ops
from helpline.core.enums import Channel, EventKind, MessageSource, Priority, Role, Status, TicketType
from orjson import loads
from tortoise.fields.base import OnDelete
from tortoise.fields.data import JSON_DUMPS
from tortoise import fields

class Migration(migrations.Migration):
    initial = True

    operations = [
        ops.CreateModel(
            name='Counter',
            fields=[
                ('name', fields.CharField(primary_key=True, unique=True, db_index=True, max_length=64)),
                ('value', fields.BigIntField()),
            ],
            options={'table': 'helpline_counter', 'app': 'core', 'pk_attr': 'name', 'table_description': 'Named gapless counters (ticket numbers). Incremented with an UPDATE, which locks the row.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='JobState',
            fields=[
                ('name', fields.CharField(primary_key=True, unique=True, db_index=True, max_length=200)),
                ('next_run_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('locked_until', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('locked_by', fields.CharField(default='', max_length=200)),
                ('last_started_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('last_finished_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('last_error', fields.TextField(null=True, unique=False)),
                ('runs', fields.IntField(default=0)),
                ('failures', fields.IntField(default=0)),
            ],
            options={'table': 'helpline_job_state', 'app': 'core', 'pk_attr': 'name', 'table_description': 'When a periodic job next runs, who holds it now, and how its last runs went.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Organization',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('name', fields.CharField(unique=True, max_length=200)),
                ('shared_tickets', fields.BooleanField(default=False)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('updated_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'helpline_organization', 'app': 'core', 'pk_attr': 'id', 'table_description': "A customer company. ``shared_tickets``: its members see each other's tickets."},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Team',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('name', fields.CharField(unique=True, max_length=200)),
                ('description', fields.TextField(default='', unique=False)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('updated_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'helpline_team', 'app': 'core', 'pk_attr': 'id', 'table_description': 'A group of agents that tickets are routed to.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='User',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('email', fields.CharField(unique=True, max_length=254)),
                ('name', fields.CharField(max_length=200)),
                ('role', fields.CharEnumField(description='ADMIN: admin\nAGENT: agent\nCUSTOMER: customer', enum_type=Role, max_length=16)),
                ('organization', fields.ForeignKeyField('core.Organization', source_field='organization_id', null=True, db_constraint=True, to_field='id', related_name='members', on_delete=OnDelete.RESTRICT)),
                ('vip', fields.BooleanField(default=False)),
                ('is_active', fields.BooleanField(default=True)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('updated_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'helpline_user', 'app': 'core', 'pk_attr': 'id', 'table_description': 'A person: admin, agent or customer. Customers may belong to one organization.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='ApiToken',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('user', fields.ForeignKeyField('core.User', source_field='user_id', db_constraint=True, to_field='id', related_name='api_tokens', on_delete=OnDelete.CASCADE)),
                ('name', fields.CharField(max_length=200)),
                ('token_hash', fields.CharField(unique=True, max_length=64)),
                ('prefix', fields.CharField(max_length=16)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('last_used_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('revoked_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'helpline_api_token', 'app': 'core', 'pk_attr': 'id', 'table_description': 'A Bearer token. Only its SHA-256 is stored; the secret is shown once, at creation.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='TeamMembership',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('team', fields.ForeignKeyField('core.Team', source_field='team_id', db_constraint=True, to_field='id', related_name='memberships', on_delete=OnDelete.CASCADE)),
                ('user', fields.ForeignKeyField('core.User', source_field='user_id', db_constraint=True, to_field='id', related_name='memberships', on_delete=OnDelete.CASCADE)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'helpline_team_membership', 'app': 'core', 'unique_together': (('team', 'user'),), 'pk_attr': 'id', 'table_description': "An agent's membership of a team."},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Ticket',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('number', fields.IntField(unique=True)),
                ('subject', fields.CharField(max_length=255)),
                ('status', fields.CharEnumField(default=Status.NEW, db_index=True, description='NEW: new\nOPEN: open\nPENDING: pending\nON_HOLD: on_hold\nSOLVED: solved\nCLOSED: closed\nMERGED: merged', enum_type=Status, max_length=16)),
                ('priority', fields.IntEnumField(default=Priority.NORMAL, description='LOW: 1\nNORMAL: 2\nHIGH: 3\nURGENT: 4', enum_type=Priority, generated=False)),
                ('type', fields.CharEnumField(null=True, description='QUESTION: question\nINCIDENT: incident\nPROBLEM: problem\nTASK: task', enum_type=TicketType, max_length=16)),
                ('category', fields.CharField(null=True, max_length=100)),
                ('channel', fields.CharEnumField(default=Channel.WEB, description='EMAIL: email\nWEB: web\nPHONE: phone\nCHAT: chat\nAPI: api', enum_type=Channel, max_length=16)),
                ('requester', fields.ForeignKeyField('core.User', source_field='requester_id', db_constraint=True, to_field='id', related_name='requested_tickets', on_delete=OnDelete.RESTRICT)),
                ('organization', fields.ForeignKeyField('core.Organization', source_field='organization_id', null=True, db_constraint=True, to_field='id', related_name='tickets', on_delete=OnDelete.RESTRICT)),
                ('team', fields.ForeignKeyField('core.Team', source_field='team_id', null=True, db_constraint=True, to_field='id', related_name='tickets', on_delete=OnDelete.RESTRICT)),
                ('assignee', fields.ForeignKeyField('core.User', source_field='assignee_id', null=True, db_constraint=True, to_field='id', related_name='assigned_tickets', on_delete=OnDelete.RESTRICT)),
                ('custom_fields', fields.JSONField(default=dict, encoder=JSON_DUMPS, decoder=loads)),
                ('version', fields.IntField(default=1)),
                ('merged_into', fields.ForeignKeyField('core.Ticket', source_field='merged_into_id', null=True, db_constraint=True, to_field='id', related_name='merged_tickets', on_delete=OnDelete.RESTRICT)),
                ('follow_up_of', fields.ForeignKeyField('core.Ticket', source_field='follow_up_of_id', null=True, db_constraint=True, to_field='id', related_name='follow_ups', on_delete=OnDelete.RESTRICT)),
                ('created_at', fields.DatetimeField(db_index=True, auto_now=False, auto_now_add=False)),
                ('updated_at', fields.DatetimeField(db_index=True, auto_now=False, auto_now_add=False)),
                ('solved_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('closed_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'helpline_ticket', 'app': 'core', 'pk_attr': 'id', 'table_description': "A customer's request and everything about its handling."},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Message',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('ticket', fields.ForeignKeyField('core.Ticket', source_field='ticket_id', db_constraint=True, to_field='id', related_name='messages', on_delete=OnDelete.CASCADE)),
                ('author', fields.ForeignKeyField('core.User', source_field='author_id', null=True, db_constraint=True, to_field='id', related_name='messages', on_delete=OnDelete.RESTRICT)),
                ('body', fields.TextField(unique=False)),
                ('internal', fields.BooleanField(default=False)),
                ('source', fields.CharEnumField(default=MessageSource.HUMAN, description='HUMAN: human\nAUTOMATION: automation\nBOT: bot\nAUTO_REPLY: auto_reply', enum_type=MessageSource, max_length=16)),
                ('channel', fields.CharEnumField(default=Channel.WEB, description='EMAIL: email\nWEB: web\nPHONE: phone\nCHAT: chat\nAPI: api', enum_type=Channel, max_length=16)),
                ('merged_from', fields.ForeignKeyField('core.Ticket', source_field='merged_from_id', null=True, db_constraint=True, to_field='id', related_name='moved_messages', on_delete=OnDelete.RESTRICT)),
                ('created_at', fields.DatetimeField(db_index=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'helpline_message', 'app': 'core', 'pk_attr': 'id', 'table_description': 'A public reply or an internal note on a ticket.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='TicketEvent',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('ticket', fields.ForeignKeyField('core.Ticket', source_field='ticket_id', db_constraint=True, to_field='id', related_name='events', on_delete=OnDelete.CASCADE)),
                ('actor', fields.ForeignKeyField('core.User', source_field='actor_id', null=True, db_constraint=True, to_field='id', related_name='ticket_events', on_delete=OnDelete.RESTRICT)),
                ('actor_source', fields.CharEnumField(description='HUMAN: human\nAUTOMATION: automation\nBOT: bot\nAUTO_REPLY: auto_reply', enum_type=MessageSource, max_length=16)),
                ('actor_name', fields.CharField(default='', max_length=200)),
                ('kind', fields.CharEnumField(description='CREATED: created\nFIELD_CHANGED: field_changed\nSTATUS_CHANGED: status_changed\nASSIGNED: assigned\nMESSAGE_ADDED: message_added\nMERGED_INTO: merged_into\nMERGED_FROM: merged_from\nFOLLOW_UP_CREATED: follow_up_created', enum_type=EventKind, max_length=32)),
                ('field', fields.CharField(null=True, max_length=64)),
                ('old_value', fields.TextField(null=True, unique=False)),
                ('new_value', fields.TextField(null=True, unique=False)),
                ('message', fields.ForeignKeyField('core.Message', source_field='message_id', null=True, db_constraint=True, to_field='id', related_name='events', on_delete=OnDelete.SET_NULL)),
                ('created_at', fields.DatetimeField(db_index=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'helpline_ticket_event', 'app': 'core', 'pk_attr': 'id', 'table_description': "One entry of a ticket's append-only history: who did what, when, old -> new."},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='TicketTag',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('ticket', fields.ForeignKeyField('core.Ticket', source_field='ticket_id', db_constraint=True, to_field='id', related_name='tag_rows', on_delete=OnDelete.CASCADE)),
                ('name', fields.CharField(db_index=True, max_length=50)),
            ],
            options={'table': 'helpline_ticket_tag', 'app': 'core', 'unique_together': (('ticket', 'name'),), 'pk_attr': 'id', 'table_description': 'One tag on one ticket (a table rather than a JSON list, so that tag filters use an index).'},
            bases=['Model'],
        ),
    ]
