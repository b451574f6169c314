"""The synthetic hearing participant lives in backend/demo/video_peer.py (the demo uses it)."""

from backend.demo.video_peer import ORIGIN, NumberedVideoTrack, Participant, read_index

__all__ = ["ORIGIN", "NumberedVideoTrack", "Participant", "read_index"]
