from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise.migrations.constraints import UniqueConstraint

# A lawyer acting for several parties signs a document once for each: signatures are unique per
# (document, signer, party). SQLite keeps the old UNIQUE inside CREATE TABLE, where no DROP INDEX
# reaches it, so the table is rebuilt without it and its append-only triggers (0002) recreated.
_SQLITE_REBUILD = [
    'CREATE TABLE "new__async_document_signature" ('
    '"id" CHAR(36) NOT NULL PRIMARY KEY, '
    '"document_kind" VARCHAR(24) NOT NULL, '
    '"document_id" CHAR(36) NOT NULL, '
    '"document_sha256" VARCHAR(64) NOT NULL, '
    '"signer_id" CHAR(36) NOT NULL, '
    '"signer_role" VARCHAR(16) NOT NULL, '
    '"signed_at" TIMESTAMP NOT NULL, '
    '"presence_verified_at" TIMESTAMP, '
    '"key_id" VARCHAR(64) NOT NULL, '
    '"signature" VARCHAR(128) NOT NULL, '
    '"party_id" CHAR(36))',
    'INSERT INTO "new__async_document_signature" SELECT "id", "document_kind", "document_id", '
    '"document_sha256", "signer_id", "signer_role", "signed_at", "presence_verified_at", '
    '"key_id", "signature", "party_id" FROM "async_document_signature"',
    'DROP TABLE "async_document_signature"',
    'ALTER TABLE "new__async_document_signature" RENAME TO "async_document_signature"',
    "CREATE TRIGGER async_signature_no_update BEFORE UPDATE ON async_document_signature "
    "BEGIN SELECT RAISE(ABORT, 'a signature is never changed'); END",
    "CREATE TRIGGER async_signature_no_delete BEFORE DELETE ON async_document_signature "
    "BEGIN SELECT RAISE(ABORT, 'a signature is never changed'); END",
]


class _DropSignerUnique(ops.RemoveConstraint):
    async def database_forward(self, app_label, old_state, new_state, state_editor=None):
        if state_editor is None or state_editor.client.capabilities.dialect != "sqlite":
            await super().database_forward(app_label, old_state, new_state, state_editor)
            return
        for sql in _SQLITE_REBUILD:
            await state_editor.client.execute_script(sql)


class Migration(migrations.Migration):
    dependencies = [('async_hearings', '0003_named_party')]

    initial = False

    operations = [
        _DropSignerUnique(
            model_name='DocumentSignature',
            name=None,
            fields=['document_kind', 'document_id', 'signer_id'],
        ),
        ops.AddConstraint(
            model_name='DocumentSignature',
            constraint=UniqueConstraint(fields=('document_kind', 'document_id', 'signer_id', 'party_id'), name=None),
        ),
    ]
