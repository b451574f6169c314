from tortoise import migrations
from tortoise.migrations import operations as ops
import functools
from json import dumps, loads
from tortoise import fields


# The log is append-only in the database itself, not just by convention: UPDATE and DELETE on
# audit_event are refused by triggers (an attacker with DDL rights can drop them, which is what
# the hash chain and signed checkpoints are for).
_SQLITE = [
    "CREATE TRIGGER audit_event_no_update BEFORE UPDATE ON audit_event "
    "BEGIN SELECT RAISE(ABORT, 'audit_event is append-only'); END",
    "CREATE TRIGGER audit_event_no_delete BEFORE DELETE ON audit_event "
    "BEGIN SELECT RAISE(ABORT, 'audit_event is append-only'); END",
]
_POSTGRES = [
    "CREATE FUNCTION audit_event_append_only() RETURNS trigger LANGUAGE plpgsql AS "
    "$$ BEGIN RAISE EXCEPTION 'audit_event is append-only'; END $$",
    "CREATE TRIGGER audit_event_no_change BEFORE UPDATE OR DELETE ON audit_event "
    "FOR EACH ROW EXECUTE FUNCTION audit_event_append_only()",
    "CREATE TRIGGER audit_event_no_truncate BEFORE TRUNCATE ON audit_event "
    "FOR EACH STATEMENT EXECUTE FUNCTION audit_event_append_only()",
]


async def _append_only_and_genesis(apps, schema_editor):
    client = schema_editor.client
    statements = _POSTGRES if client.capabilities.dialect == "postgres" else _SQLITE
    for sql in statements:
        await client.execute_script(sql)
    await client.execute_script(
        "INSERT INTO audit_head (id, seq, hash) VALUES (1, 0, '" + "0" * 64 + "')"
    )


class Migration(migrations.Migration):
    initial = True

    operations = [
        ops.CreateModel(
            name='AuditCheckpoint',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('seq', fields.BigIntField()),
                ('hash', fields.CharField(max_length=64)),
                ('signed_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('key_id', fields.CharField(max_length=64)),
                ('signature', fields.CharField(max_length=128)),
            ],
            options={'table': 'audit_checkpoint', 'app': 'audit', 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='AuditEvent',
            fields=[
                ('seq', fields.BigIntField(primary_key=True, unique=True, db_index=True)),
                ('occurred_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('actor_subject', fields.CharField(null=True, db_index=True, max_length=64)),
                ('actor_roles', fields.CharField(default='', max_length=200)),
                ('ip', fields.CharField(null=True, max_length=45)),
                ('request_id', fields.CharField(null=True, max_length=64)),
                ('action', fields.CharField(db_index=True, max_length=64)),
                ('resource_type', fields.CharField(max_length=32)),
                ('resource_id', fields.CharField(null=True, db_index=True, max_length=64)),
                ('details', fields.JSONField(default=dict, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('prev_hash', fields.CharField(max_length=64)),
                ('hash', fields.CharField(unique=True, max_length=64)),
            ],
            options={'table': 'audit_event', 'app': 'audit', 'pk_attr': 'seq'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='AuditHead',
            fields=[
                ('id', fields.IntField(primary_key=True, unique=True, db_index=True)),
                ('seq', fields.BigIntField()),
                ('hash', fields.CharField(max_length=64)),
            ],
            options={'table': 'audit_head', 'app': 'audit', 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.RunPython(_append_only_and_genesis),
    ]
