from tortoise import migrations
from tortoise.migrations import operations as ops

# Nothing is edited after posting, in the database itself: a published post (seq set) and an
# e-signature can be neither updated nor deleted. Drafts (seq null) stay editable until they are
# published. Someone with DDL rights can drop the triggers; the record's hash chain and the audit
# events carrying each post's hash are what reveal that.
_SQLITE = [
    "CREATE TRIGGER async_post_published_no_update BEFORE UPDATE ON async_post "
    "WHEN OLD.seq IS NOT NULL "
    "BEGIN SELECT RAISE(ABORT, 'a published post is never changed'); END",
    "CREATE TRIGGER async_post_published_no_delete BEFORE DELETE ON async_post "
    "WHEN OLD.seq IS NOT NULL "
    "BEGIN SELECT RAISE(ABORT, 'a published post is never changed'); END",
    "CREATE TRIGGER async_signature_no_update BEFORE UPDATE ON async_document_signature "
    "BEGIN SELECT RAISE(ABORT, 'a signature is never changed'); END",
    "CREATE TRIGGER async_signature_no_delete BEFORE DELETE ON async_document_signature "
    "BEGIN SELECT RAISE(ABORT, 'a signature is never changed'); END",
]
_POSTGRES = [
    "CREATE FUNCTION async_record_immutable() RETURNS trigger LANGUAGE plpgsql AS "
    "$$ BEGIN RAISE EXCEPTION '% is append-only', TG_TABLE_NAME; END $$",
    "CREATE TRIGGER async_post_published_no_change BEFORE UPDATE OR DELETE ON async_post "
    "FOR EACH ROW WHEN (OLD.seq IS NOT NULL) EXECUTE FUNCTION async_record_immutable()",
    "CREATE TRIGGER async_signature_no_change BEFORE UPDATE OR DELETE "
    "ON async_document_signature FOR EACH ROW EXECUTE FUNCTION async_record_immutable()",
]


async def _append_only(apps, schema_editor):
    client = schema_editor.client
    statements = _POSTGRES if client.capabilities.dialect == "postgres" else _SQLITE
    for sql in statements:
        await client.execute_script(sql)


class Migration(migrations.Migration):
    dependencies = [("async_hearings", "0001_initial")]

    initial = False

    operations = [ops.RunPython(_append_only)]
