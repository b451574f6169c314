"""Face verification: photo quality, 1:1 matching, liveness, and the bounded worker pool."""
