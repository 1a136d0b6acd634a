"""Workflows of the faces app that write, one module per concern.

The pipeline, category → images → faces: ``crawl``, ``bootstrap``, ``detect``, ``reencode``
and ``drawn`` (faces drawn by hand), over what they share: ``images`` (the files a crawl or a
bootstrap takes) and ``processing`` (an image's way through detection). ``scoring``: the
learner's verdicts on every face. ``review``: what people answer, undo and draw.
"""
