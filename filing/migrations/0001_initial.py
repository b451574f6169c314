from tortoise import migrations
from tortoise.migrations import operations as ops
import functools
from json import dumps, loads
from tortoise import fields

class Migration(migrations.Migration):
    initial = True

    operations = [
        ops.CreateModel(
            name='CaseNumberCounter',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('court_code', fields.CharField(max_length=8)),
                ('type_code', fields.CharField(max_length=4)),
                ('year', fields.SmallIntField()),
                ('last_serial', fields.IntField()),
            ],
            options={'table': 'filing_case_counter', 'app': 'filing', 'unique_together': (('court_code', 'type_code', 'year'),), 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='CauseOfAction',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('code', fields.CharField(unique=True, max_length=64)),
                ('parent_code', fields.CharField(null=True, max_length=64)),
                ('level', fields.SmallIntField()),
                ('position', fields.IntField(unique=True)),
                ('name_zh', fields.CharField(max_length=100)),
                ('name_en', fields.CharField(max_length=200)),
                ('part_zh', fields.CharField(max_length=100)),
                ('part_en', fields.CharField(max_length=200)),
                ('category_zh', fields.CharField(max_length=100)),
                ('category_en', fields.CharField(max_length=200)),
                ('internet_category', fields.CharField(null=True, max_length=48)),
            ],
            options={'table': 'filing_cause', 'app': 'filing', 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Court',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('code', fields.CharField(unique=True, max_length=8)),
                ('name_zh', fields.CharField(max_length=100)),
                ('name_en', fields.CharField(max_length=200)),
                ('level', fields.CharField(max_length=16)),
                ('region_code', fields.CharField(max_length=6)),
                ('parent_code', fields.CharField(null=True, max_length=8)),
                ('case_types', fields.JSONField(default=list, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('designated_categories', fields.JSONField(default=list, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('fee_schedule', fields.JSONField(encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('updated_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
            ],
            options={'table': 'filing_court', 'app': 'filing', 'pk_attr': 'id'},
            bases=['Model'],
        ),
    ]
