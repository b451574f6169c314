from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise.fields.base import OnDelete
from uuid import uuid4
from tortoise import fields

class Migration(migrations.Migration):
    initial = True

    operations = [
        ops.CreateModel(
            name='Mediation',
            fields=[
                ('id', fields.UUIDField(primary_key=True, default=uuid4, unique=True, db_index=True)),
                ('filing_id', fields.UUIDField(db_index=True)),
                ('phase', fields.CharField(max_length=12)),
                ('status', fields.CharField(default='awaiting_mediator', max_length=20)),
                ('requested_by_id', fields.UUIDField()),
                ('requested_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('designation_due_on', fields.DateField()),
                ('mediator_id', fields.UUIDField(null=True)),
                ('designated_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('designated_late', fields.BooleanField(default=False)),
                ('period_days', fields.SmallIntField()),
                ('ends_on', fields.DateField()),
                ('closed_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('outcome_note', fields.TextField(null=True, unique=False)),
            ],
            options={'table': 'mediation', 'app': 'mediation', 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Agreement',
            fields=[
                ('id', fields.UUIDField(primary_key=True, default=uuid4, unique=True, db_index=True)),
                ('mediation', fields.ForeignKeyField('mediation.Mediation', source_field='mediation_id', db_constraint=True, to_field='id', related_name='agreements', on_delete=OnDelete.CASCADE)),
                ('terms', fields.TextField(unique=False)),
                ('terms_sha256', fields.CharField(max_length=64)),
                ('status', fields.CharField(default='awaiting_signatures', max_length=24)),
                ('created_by_id', fields.UUIDField()),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('effective_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('statement_file_id', fields.UUIDField(null=True)),
                ('statement_sha256', fields.CharField(null=True, max_length=64)),
            ],
            options={'table': 'mediation_agreement', 'app': 'mediation', 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='MediationSession',
            fields=[
                ('id', fields.UUIDField(primary_key=True, default=uuid4, unique=True, db_index=True)),
                ('mediation', fields.ForeignKeyField('mediation.Mediation', source_field='mediation_id', db_constraint=True, to_field='id', related_name='sessions', on_delete=OnDelete.CASCADE)),
                ('mode', fields.CharField(max_length=8)),
                ('starts_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('note', fields.TextField(default='', unique=False)),
                ('created_by_id', fields.UUIDField()),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'mediation_session', 'app': 'mediation', 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Proposal',
            fields=[
                ('id', fields.UUIDField(primary_key=True, default=uuid4, unique=True, db_index=True)),
                ('mediation', fields.ForeignKeyField('mediation.Mediation', source_field='mediation_id', db_constraint=True, to_field='id', related_name='proposals', on_delete=OnDelete.CASCADE)),
                ('author_id', fields.UUIDField()),
                ('author_role', fields.CharField(max_length=16)),
                ('terms', fields.TextField(unique=False)),
                ('counter_to_id', fields.UUIDField(null=True)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'mediation_proposal', 'app': 'mediation', 'pk_attr': 'id'},
            bases=['Model'],
        ),
    ]
