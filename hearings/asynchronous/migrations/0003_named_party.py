from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise import fields
from tortoise.migrations.constraints import UniqueConstraint

# Questions name one party and missed windows are recorded per party (filing.Party ids), not per
# side. SQLite keeps the old UNIQUE (stage_id, party_role) inside CREATE TABLE, where no DROP
# INDEX reaches it: the table (which has no triggers and no dependants) is rebuilt without it.
_SQLITE_REBUILD = [
    'CREATE TABLE "new__async_missed_window" ('
    '"id" CHAR(36) NOT NULL PRIMARY KEY, '
    '"party_role" VARCHAR(16) NOT NULL, '
    '"recorded_at" TIMESTAMP NOT NULL, '
    '"reason" TEXT, '
    '"reason_by_id" CHAR(36), '
    '"reason_at" TIMESTAMP, '
    '"decision" VARCHAR(12), '
    '"decision_note" TEXT, '
    '"decided_by_id" CHAR(36), '
    '"decided_at" TIMESTAMP, '
    '"hearing_id" CHAR(36) NOT NULL REFERENCES "async_hearing" ("id") ON DELETE CASCADE, '
    '"stage_id" CHAR(36) NOT NULL REFERENCES "async_stage" ("id") ON DELETE CASCADE)',
    'INSERT INTO "new__async_missed_window" SELECT "id", "party_role", "recorded_at", "reason", '
    '"reason_by_id", "reason_at", "decision", "decision_note", "decided_by_id", "decided_at", '
    '"hearing_id", "stage_id" FROM "async_missed_window"',
    'DROP TABLE "async_missed_window"',
    'ALTER TABLE "new__async_missed_window" RENAME TO "async_missed_window"',
]


class _DropSideUnique(ops.RemoveConstraint):
    async def database_forward(self, app_label, old_state, new_state, state_editor=None):
        if state_editor is None or state_editor.client.capabilities.dialect != "sqlite":
            await super().database_forward(app_label, old_state, new_state, state_editor)
            return
        for sql in _SQLITE_REBUILD:
            await state_editor.client.execute_script(sql)


class Migration(migrations.Migration):
    dependencies = [('async_hearings', '0002_append_only_record')]

    initial = False

    operations = [
        ops.AddField(
            model_name='AsyncPost',
            name='addressed_party_id',
            field=fields.UUIDField(null=True),
        ),
        ops.AddField(
            model_name='AsyncPost',
            name='author_party_id',
            field=fields.UUIDField(null=True),
        ),
        ops.AddField(
            model_name='DocumentSignature',
            name='party_id',
            field=fields.UUIDField(null=True),
        ),
        _DropSideUnique(
            model_name='MissedWindow',
            name=None,
            fields=['stage_id', 'party_role'],
        ),
        ops.AddField(
            model_name='MissedWindow',
            name='party_id',
            field=fields.UUIDField(null=True),
        ),
        ops.AddConstraint(
            model_name='MissedWindow',
            constraint=UniqueConstraint(fields=('stage_id', 'party_id'), name=None),
        ),
    ]
