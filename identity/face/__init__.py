"""Face verification: photo quality, 1:1 matching, active liveness, and the bounded worker pool.

All of it is blocking, pure domain code (no HTTP, no database); run it through
:class:`identity.face.pool.FacePool`.

* :mod:`identity.face.engine`: ``load_image(bytes)``, ``analyse_face(image)``,
  ``analyse_photo(bytes, subject=)``, ``compare(a, b, threshold=MATCH_THRESHOLD)``,
  ``verify(id_portrait, selfie)``; errors are :class:`~identity.face.engine.FaceError` subclasses
  with stable ``code``s.
* :mod:`identity.face.liveness`: ``Action``, ``new_challenge()``,
  ``check_liveness(frames, actions)``.
* :mod:`identity.face.video`: ``decode_clip(bytes)`` for uploaded liveness clips (PyAV).
* :mod:`identity.face.calibrate` and :mod:`identity.face.cli`: threshold calibration and the
  ``face calibrate`` / ``face compare`` commands.

Biometric data (PIPL Art. 28): nothing here stores images or encodings; callers should keep them
only for the verification attempt.
"""
