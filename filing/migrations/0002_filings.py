from tortoise import migrations
from tortoise.migrations import operations as ops
import functools
from json import dumps, loads
from tortoise.fields.base import OnDelete
from uuid import uuid4
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('filing', '0001_initial')]

    initial = False

    operations = [
        ops.CreateModel(
            name='Filing',
            fields=[
                ('id', fields.UUIDField(primary_key=True, default=uuid4, unique=True, db_index=True)),
                ('receiving_court_code', fields.CharField(max_length=8)),
                ('competent_court_code', fields.CharField(null=True, max_length=8)),
                ('case_type_code', fields.CharField(default='民初', max_length=4)),
                ('procedure', fields.CharField(default='ordinary', max_length=16)),
                ('cause_code', fields.CharField(max_length=64)),
                ('claim_amount', fields.DecimalField(null=True, max_digits=16, decimal_places=2)),
                ('performance_region_code', fields.CharField(null=True, max_length=6)),
                ('claims', fields.TextField(default='', unique=False)),
                ('facts_and_reasons', fields.TextField(default='', unique=False)),
                ('status', fields.CharField(default='draft', max_length=24)),
                ('routing_reasons', fields.JSONField(default=list, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('received_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('clock_started_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('decision_due_on', fields.DateField(null=True)),
                ('decided_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('refusal_reason', fields.TextField(null=True, unique=False)),
                ('case_number', fields.CharField(null=True, unique=True, max_length=64)),
                ('fee_total', fields.DecimalField(null=True, max_digits=16, decimal_places=2)),
                ('fee_due_on', fields.DateField(null=True)),
                ('fee_quote', fields.JSONField(null=True, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('assigned_judge_id', fields.UUIDField(null=True)),
                ('assigned_clerk_id', fields.UUIDField(null=True)),
                ('created_by_id', fields.UUIDField(db_index=True)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('updated_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
            ],
            options={'table': 'filing_filing', 'app': 'filing', 'indexes': [Index(fields=['competent_court_code', 'status'])], 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='CaseEvent',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('filing', fields.ForeignKeyField('filing.Filing', source_field='filing_id', db_constraint=True, to_field='id', related_name='events', on_delete=OnDelete.CASCADE)),
                ('kind', fields.CharField(max_length=48)),
                ('actor_id', fields.UUIDField(null=True)),
                ('at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('details', fields.JSONField(default=dict, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('visibility', fields.CharField(default='all', max_length=8)),
            ],
            options={'table': 'filing_case_event', 'app': 'filing', 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='CorrectionNotice',
            fields=[
                ('id', fields.UUIDField(primary_key=True, default=uuid4, unique=True, db_index=True)),
                ('filing', fields.ForeignKeyField('filing.Filing', source_field='filing_id', db_constraint=True, to_field='id', related_name='corrections', on_delete=OnDelete.CASCADE)),
                ('items', fields.JSONField(encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('deadline', fields.DateField()),
                ('issued_by_id', fields.UUIDField()),
                ('issued_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('answered_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'filing_correction', 'app': 'filing', 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Evidence',
            fields=[
                ('id', fields.UUIDField(primary_key=True, default=uuid4, unique=True, db_index=True)),
                ('filing', fields.ForeignKeyField('filing.Filing', source_field='filing_id', db_constraint=True, to_field='id', related_name='evidence', on_delete=OnDelete.CASCADE)),
                ('title', fields.CharField(max_length=200)),
                ('description', fields.TextField(default='', unique=False)),
                ('file_id', fields.UUIDField()),
                ('sha256', fields.CharField(db_index=True, max_length=64)),
                ('size', fields.BigIntField()),
                ('media_type', fields.CharField(max_length=100)),
                ('uploaded_by_id', fields.UUIDField()),
                ('uploaded_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('anchor_seq', fields.BigIntField(null=True)),
                ('removed_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'filing_evidence', 'app': 'filing', 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Forwarding',
            fields=[
                ('id', fields.UUIDField(primary_key=True, default=uuid4, unique=True, db_index=True)),
                ('filing', fields.ForeignKeyField('filing.Filing', source_field='filing_id', db_constraint=True, to_field='id', related_name='forwardings', on_delete=OnDelete.CASCADE)),
                ('from_court_code', fields.CharField(max_length=8)),
                ('to_court_code', fields.CharField(max_length=8)),
                ('reason', fields.TextField(unique=False)),
                ('at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'filing_forwarding', 'app': 'filing', 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Party',
            fields=[
                ('id', fields.UUIDField(primary_key=True, default=uuid4, unique=True, db_index=True)),
                ('filing', fields.ForeignKeyField('filing.Filing', source_field='filing_id', db_constraint=True, to_field='id', related_name='parties', on_delete=OnDelete.CASCADE)),
                ('role', fields.CharField(max_length=16)),
                ('kind', fields.CharField(max_length=16)),
                ('name', fields.CharField(max_length=200)),
                ('id_number_enc', fields.BinaryField(null=True)),
                ('id_number_hash', fields.CharField(null=True, db_index=True, max_length=64)),
                ('id_number_masked', fields.CharField(null=True, max_length=18)),
                ('credit_code', fields.CharField(null=True, max_length=18)),
                ('region_code', fields.CharField(max_length=6)),
                ('address', fields.CharField(max_length=300)),
                ('service_address', fields.CharField(null=True, max_length=200)),
                ('service_address_confirmed', fields.BooleanField(default=False)),
                ('account_id', fields.UUIDField(null=True, db_index=True)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'filing_party', 'app': 'filing', 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Representation',
            fields=[
                ('id', fields.UUIDField(primary_key=True, default=uuid4, unique=True, db_index=True)),
                ('party', fields.ForeignKeyField('filing.Party', source_field='party_id', db_constraint=True, to_field='id', related_name='representations', on_delete=OnDelete.CASCADE)),
                ('lawyer_account_id', fields.UUIDField(db_index=True)),
                ('power_of_attorney_file_id', fields.UUIDField()),
                ('granted_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('revoked_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'filing_representation', 'app': 'filing', 'pk_attr': 'id'},
            bases=['Model'],
        ),
    ]
