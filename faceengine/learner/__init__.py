"""The learner's arithmetic: pure numpy over one row per face, no Django (see each module)."""
