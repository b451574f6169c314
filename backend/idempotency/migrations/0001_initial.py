from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise import fields

class Migration(migrations.Migration):
    initial = True

    operations = [
        ops.CreateModel(
            name='IdempotencyRecord',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('owner', fields.CharField(max_length=64)),
                ('key', fields.CharField(max_length=128)),
                ('fingerprint', fields.CharField(max_length=64)),
                ('completed', fields.BooleanField(default=False)),
                ('status_code', fields.IntField(null=True)),
                ('content_type', fields.CharField(null=True, max_length=100)),
                ('response_body', fields.BinaryField(null=True)),
                ('created_at', fields.DatetimeField(db_index=True, auto_now=False, auto_now_add=True)),
                ('completed_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'idempotency_record', 'app': 'idempotency', 'unique_together': (('owner', 'key'),), 'pk_attr': 'id'},
            bases=['Model'],
        ),
    ]
