from tortoise import migrations
from tortoise.migrations import operations as ops
import functools
from json import dumps, loads
from tortoise.fields.base import OnDelete
from uuid import uuid4
from tortoise import fields

class Migration(migrations.Migration):
    initial = True

    operations = [
        ops.CreateModel(
            name='VideoHearing',
            fields=[
                ('id', fields.UUIDField(primary_key=True, default=uuid4, unique=True, db_index=True)),
                ('filing_id', fields.UUIDField(db_index=True)),
                ('court_code', fields.CharField(max_length=8)),
                ('title', fields.CharField(max_length=200)),
                ('starts_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('status', fields.CharField(default='scheduled', max_length=16)),
                ('notice_status', fields.CharField(default='pending', max_length=16)),
                ('scheduled_by_id', fields.UUIDField()),
                ('lobby_opened_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('opened_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('closed_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('manifest_sha256', fields.CharField(null=True, max_length=64)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('updated_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
            ],
            options={'table': 'hearing_video', 'app': 'hearings', 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='VideoNote',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('hearing', fields.ForeignKeyField('hearings.VideoHearing', source_field='hearing_id', db_constraint=True, to_field='id', related_name='notes', on_delete=OnDelete.CASCADE)),
                ('author_id', fields.UUIDField()),
                ('at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('offset_ms', fields.BigIntField(null=True)),
                ('text', fields.TextField(unique=False)),
                ('details', fields.JSONField(default=dict, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
            ],
            options={'table': 'hearing_video_note', 'app': 'hearings', 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='VideoParticipant',
            fields=[
                ('id', fields.UUIDField(primary_key=True, default=uuid4, unique=True, db_index=True)),
                ('hearing', fields.ForeignKeyField('hearings.VideoHearing', source_field='hearing_id', db_constraint=True, to_field='id', related_name='participants', on_delete=OnDelete.CASCADE)),
                ('account_id', fields.UUIDField(db_index=True)),
                ('role', fields.CharField(max_length=16)),
                ('display_name', fields.CharField(max_length=100)),
                ('removed_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'hearing_video_participant', 'app': 'hearings', 'unique_together': (('hearing_id', 'account_id'),), 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='VideoRecordingEvent',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('hearing', fields.ForeignKeyField('hearings.VideoHearing', source_field='hearing_id', db_constraint=True, to_field='id', related_name='recording_events', on_delete=OnDelete.CASCADE)),
                ('kind', fields.CharField(max_length=16)),
                ('reason', fields.TextField(default='', unique=False)),
                ('actor_id', fields.UUIDField(null=True)),
                ('at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'hearing_video_recording_event', 'app': 'hearings', 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='VideoSegment',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('hearing', fields.ForeignKeyField('hearings.VideoHearing', source_field='hearing_id', db_constraint=True, to_field='id', related_name='segments', on_delete=OnDelete.CASCADE)),
                ('seq', fields.IntField()),
                ('participant_id', fields.UUIDField()),
                ('kind', fields.CharField(max_length=8)),
                ('file_name', fields.CharField(max_length=200)),
                ('size', fields.BigIntField()),
                ('frames', fields.IntField()),
                ('started_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('ended_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('sha256', fields.CharField(max_length=64)),
                ('prev_hash', fields.CharField(max_length=64)),
                ('chain_hash', fields.CharField(max_length=64)),
            ],
            options={'table': 'hearing_video_segment', 'app': 'hearings', 'unique_together': (('hearing_id', 'seq'),), 'pk_attr': 'id'},
            bases=['Model'],
        ),
    ]
