from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise.fields.base import OnDelete
from uuid import uuid4
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('filing', '0004_dashboard_fee_relief_clock')]

    initial = False

    operations = [
        ops.CreateModel(
            name='FeeRelief',
            fields=[
                ('id', fields.UUIDField(primary_key=True, default=uuid4, unique=True, db_index=True)),
                ('filing', fields.ForeignKeyField('filing.Filing', source_field='filing_id', db_constraint=True, to_field='id', related_name='fee_reliefs', on_delete=OnDelete.CASCADE)),
                ('party', fields.ForeignKeyField('filing.Party', source_field='party_id', db_constraint=True, to_field='id', related_name='fee_reliefs', on_delete=OnDelete.CASCADE)),
                ('applicant_account_id', fields.UUIDField()),
                ('kind', fields.CharField(max_length=16)),
                ('grounds', fields.TextField(unique=False)),
                ('supporting_file_id', fields.UUIDField(null=True)),
                ('requested_payable', fields.DecimalField(null=True, max_digits=16, decimal_places=2)),
                ('requested_due_on', fields.DateField(null=True)),
                ('status', fields.CharField(default='pending', max_length=16)),
                ('decided_by_id', fields.UUIDField(null=True)),
                ('decided_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('decision_reason', fields.TextField(null=True, unique=False)),
                ('granted_payable', fields.DecimalField(null=True, max_digits=16, decimal_places=2)),
                ('granted_due_on', fields.DateField(null=True)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'filing_fee_relief', 'app': 'filing', 'indexes': [Index(fields=['filing_id', 'status'])], 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.AddField(
            model_name='Payment',
            name='expires_at',
            field=fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
        ),
    ]
