"""Workflows of the faces app that write, one module per concern.

``pipeline``: category → images → faces. ``scoring``: the learner's verdicts on every face.
``review``: what people answer, undo and draw.
"""
