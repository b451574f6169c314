from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise.fields.base import OnDelete
from uuid import uuid4
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('auth', '0001_initial')]

    initial = True

    operations = [
        ops.CreateModel(
            name='Consent',
            fields=[
                ('id', fields.UUIDField(primary_key=True, default=uuid4, unique=True, db_index=True)),
                ('account', fields.ForeignKeyField('auth.Account', source_field='account_id', db_constraint=True, to_field='id', related_name='consents', on_delete=OnDelete.CASCADE)),
                ('purpose', fields.CharField(max_length=32)),
                ('notice_version', fields.CharField(max_length=32)),
                ('granted_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('withdrawn_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'identity_consent', 'app': 'identity', 'indexes': [Index(fields=['account_id', 'purpose'])], 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='LawyerApplication',
            fields=[
                ('id', fields.UUIDField(primary_key=True, default=uuid4, unique=True, db_index=True)),
                ('account', fields.ForeignKeyField('auth.Account', source_field='account_id', db_constraint=True, to_field='id', related_name='lawyer_applications', on_delete=OnDelete.CASCADE)),
                ('licence_number', fields.CharField(max_length=17)),
                ('law_firm', fields.CharField(max_length=200)),
                ('licence_file_id', fields.UUIDField()),
                ('status', fields.CharField(default='pending', max_length=16)),
                ('reason', fields.CharField(null=True, max_length=500)),
                ('submitted_at', fields.DatetimeField(db_index=True, auto_now=False, auto_now_add=False)),
                ('decided_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('decided_by_id', fields.UUIDField(null=True)),
            ],
            options={'table': 'identity_lawyer_application', 'app': 'identity', 'indexes': [Index(fields=['status', 'submitted_at'])], 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Organisation',
            fields=[
                ('id', fields.UUIDField(primary_key=True, default=uuid4, unique=True, db_index=True)),
                ('name', fields.CharField(max_length=200)),
                ('credit_code', fields.CharField(unique=True, max_length=18)),
                ('legal_representative', fields.ForeignKeyField('auth.Account', source_field='legal_representative_id', db_constraint=True, to_field='id', related_name='represented_organisations', on_delete=OnDelete.RESTRICT)),
                ('created_by_id', fields.UUIDField(db_index=True)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'identity_organisation', 'app': 'identity', 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='PhoneBinding',
            fields=[
                ('id', fields.UUIDField(primary_key=True, default=uuid4, unique=True, db_index=True)),
                ('account', fields.OneToOneField('auth.Account', source_field='account_id', db_constraint=True, to_field='id', related_name='phone_binding', on_delete=OnDelete.CASCADE)),
                ('phone_enc', fields.BinaryField()),
                ('phone_hash', fields.CharField(db_index=True, max_length=64)),
                ('phone_masked', fields.CharField(max_length=24)),
                ('country_code', fields.CharField(default='86', max_length=4)),
                ('source', fields.CharField(max_length=16)),
                ('verified_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'identity_phone', 'app': 'identity', 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='RealName',
            fields=[
                ('id', fields.UUIDField(primary_key=True, default=uuid4, unique=True, db_index=True)),
                ('account', fields.OneToOneField('auth.Account', source_field='account_id', db_constraint=True, to_field='id', related_name='real_name', on_delete=OnDelete.CASCADE)),
                ('name', fields.CharField(max_length=64)),
                ('id_number_enc', fields.BinaryField()),
                ('id_number_hash', fields.CharField(unique=True, max_length=64)),
                ('id_number_masked', fields.CharField(max_length=18)),
                ('birth_date', fields.DateField()),
                ('sex', fields.CharField(max_length=8)),
                ('is_minor', fields.BooleanField(default=False)),
                ('guardian_required', fields.BooleanField(default=False)),
                ('status', fields.CharField(default='pending_face', max_length=16)),
                ('method', fields.CharField(null=True, max_length=16)),
                ('verified_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('verified_by_id', fields.UUIDField(null=True)),
                ('verification_note', fields.CharField(default='', max_length=500)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('updated_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
            ],
            options={'table': 'identity_realname', 'app': 'identity', 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='SmsOtp',
            fields=[
                ('id', fields.UUIDField(primary_key=True, default=uuid4, unique=True, db_index=True)),
                ('account', fields.ForeignKeyField('auth.Account', source_field='account_id', db_constraint=True, to_field='id', related_name='sms_otps', on_delete=OnDelete.CASCADE)),
                ('phone_hash', fields.CharField(db_index=True, max_length=64)),
                ('code_hash', fields.CharField(max_length=64)),
                ('created_at', fields.DatetimeField(db_index=True, auto_now=False, auto_now_add=False)),
                ('expires_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('used_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('attempts', fields.IntField(default=0)),
            ],
            options={'table': 'identity_sms_otp', 'app': 'identity', 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='StaffTotp',
            fields=[
                ('id', fields.UUIDField(primary_key=True, default=uuid4, unique=True, db_index=True)),
                ('account', fields.OneToOneField('auth.Account', source_field='account_id', db_constraint=True, to_field='id', related_name='totp', on_delete=OnDelete.CASCADE)),
                ('secret_enc', fields.BinaryField()),
                ('confirmed_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('last_used_step', fields.BigIntField(default=0)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'identity_staff_totp', 'app': 'identity', 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='WeChatIdentity',
            fields=[
                ('id', fields.UUIDField(primary_key=True, default=uuid4, unique=True, db_index=True)),
                ('account', fields.ForeignKeyField('auth.Account', source_field='account_id', db_constraint=True, to_field='id', related_name='wechat_identities', on_delete=OnDelete.CASCADE)),
                ('appid', fields.CharField(max_length=32)),
                ('openid', fields.CharField(max_length=64)),
                ('unionid', fields.CharField(null=True, db_index=True, max_length=64)),
                ('session_key_enc', fields.BinaryField(null=True)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('last_login_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'identity_wechat', 'app': 'identity', 'unique_together': (('appid', 'openid'),), 'pk_attr': 'id'},
            bases=['Model'],
        ),
    ]
