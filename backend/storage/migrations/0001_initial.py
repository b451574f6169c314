from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise.fields.base import OnDelete
from uuid import uuid4
from tortoise import fields

class Migration(migrations.Migration):
    initial = True

    operations = [
        ops.CreateModel(
            name='Blob',
            fields=[
                ('sha256', fields.CharField(primary_key=True, unique=True, db_index=True, max_length=64)),
                ('size', fields.BigIntField()),
                ('kind', fields.CharField(max_length=16)),
                ('media_type', fields.CharField(max_length=64)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'blob', 'app': 'blobs', 'pk_attr': 'sha256'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='StoredFile',
            fields=[
                ('id', fields.UUIDField(primary_key=True, default=uuid4, unique=True, db_index=True)),
                ('blob', fields.ForeignKeyField('blobs.Blob', source_field='blob_id', db_constraint=True, to_field='sha256', related_name='files', on_delete=OnDelete.RESTRICT)),
                ('original_name', fields.CharField(max_length=255)),
                ('purpose', fields.CharField(db_index=True, max_length=32)),
                ('owner_account_id', fields.UUIDField(db_index=True)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'stored_file', 'app': 'blobs', 'pk_attr': 'id'},
            bases=['Model'],
        ),
    ]
