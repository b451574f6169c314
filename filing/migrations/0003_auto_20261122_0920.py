from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise.fields.base import OnDelete
from uuid import uuid4
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('filing', '0002_filings')]

    initial = False

    operations = [
        ops.CreateModel(
            name='Payment',
            fields=[
                ('id', fields.UUIDField(primary_key=True, default=uuid4, unique=True, db_index=True)),
                ('filing', fields.ForeignKeyField('filing.Filing', source_field='filing_id', db_constraint=True, to_field='id', related_name='payments', on_delete=OnDelete.CASCADE)),
                ('out_trade_no', fields.CharField(unique=True, max_length=32)),
                ('amount_fen', fields.BigIntField()),
                ('payer_account_id', fields.UUIDField(db_index=True)),
                ('status', fields.CharField(default='pending', max_length=16)),
                ('prepay_id', fields.CharField(null=True, max_length=128)),
                ('transaction_id', fields.CharField(null=True, unique=True, max_length=64)),
                ('paid_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('updated_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
            ],
            options={'table': 'filing_payment', 'app': 'filing', 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.AddField(
            model_name='Filing',
            name='fee_paid_at',
            field=fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
        ),
    ]
