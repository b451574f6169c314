from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise.fields.base import OnDelete
from uuid import uuid4
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('auth', '0001_initial'), ('identity', '0001_initial')]

    initial = False

    operations = [
        ops.CreateModel(
            name='FaceVerification',
            fields=[
                ('id', fields.UUIDField(primary_key=True, default=uuid4, unique=True, db_index=True)),
                ('account', fields.ForeignKeyField('auth.Account', source_field='account_id', db_constraint=True, to_field='id', related_name='face_verifications', on_delete=OnDelete.CASCADE)),
                ('purpose', fields.CharField(max_length=16)),
                ('result', fields.CharField(max_length=24)),
                ('reason_code', fields.CharField(null=True, max_length=32)),
                ('failed_input', fields.CharField(null=True, max_length=16)),
                ('distance', fields.FloatField(null=True)),
                ('threshold', fields.FloatField(null=True)),
                ('method', fields.CharField(max_length=48)),
                ('liveness_passed', fields.BooleanField(null=True)),
                ('liveness_reason', fields.CharField(null=True, max_length=32)),
                ('challenge_id', fields.UUIDField(null=True)),
                ('reference_digest', fields.CharField(null=True, max_length=64)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'identity_face_verification', 'app': 'identity', 'indexes': [Index(fields=['account_id', 'created_at'])], 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='LivenessChallenge',
            fields=[
                ('id', fields.UUIDField(primary_key=True, default=uuid4, unique=True, db_index=True)),
                ('account', fields.ForeignKeyField('auth.Account', source_field='account_id', db_constraint=True, to_field='id', related_name='liveness_challenges', on_delete=OnDelete.CASCADE)),
                ('nonce_hash', fields.CharField(max_length=64)),
                ('actions', fields.CharField(max_length=64)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('expires_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('used_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'identity_liveness_challenge', 'app': 'identity', 'indexes': [Index(fields=['account_id', 'expires_at'])], 'pk_attr': 'id'},
            bases=['Model'],
        ),
    ]
