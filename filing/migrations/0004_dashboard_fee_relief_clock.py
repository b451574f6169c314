from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('filing', '0003_auto_20261122_0920')]

    initial = False

    operations = [
        ops.AddIndex(
            model_name='CaseEvent',
            index=Index(fields=['filing_id', 'at']),
        ),
        ops.AddIndex(
            model_name='CorrectionNotice',
            index=Index(fields=['filing_id']),
        ),
        ops.AddIndex(
            model_name='Evidence',
            index=Index(fields=['filing_id']),
        ),
        ops.AddField(
            model_name='Filing',
            name='clock_alerted_due_on',
            field=fields.DateField(null=True),
        ),
        ops.AddField(
            model_name='Filing',
            name='fee_payable',
            field=fields.DecimalField(null=True, max_digits=16, decimal_places=2),
        ),
        ops.AddField(
            model_name='Filing',
            name='fee_relief',
            field=fields.CharField(null=True, max_length=16),
        ),
        ops.AddIndex(
            model_name='Filing',
            index=Index(fields=['created_at', 'id']),
        ),
        ops.AddIndex(
            model_name='Filing',
            index=Index(fields=['status', 'decision_due_on']),
        ),
        ops.AddIndex(
            model_name='Forwarding',
            index=Index(fields=['filing_id']),
        ),
        ops.AddIndex(
            model_name='Party',
            index=Index(fields=['filing_id']),
        ),
        ops.AddIndex(
            model_name='Payment',
            index=Index(fields=['filing_id', 'status']),
        ),
        ops.AddIndex(
            model_name='Representation',
            index=Index(fields=['party_id']),
        ),
        ops.AddIndex(
            model_name='Representation',
            index=Index(fields=['lawyer_account_id', 'revoked_at']),
        ),
    ]
