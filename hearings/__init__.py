"""Hearings: video hearings over WebRTC (``video_*`` modules) and, later, asynchronous hearings."""
