"""Workflows of the faces app that write, one module per concern.

The pipeline, category → images → faces: ``crawl``, ``bootstrap``, ``detect``, ``reencode``
and ``drawn`` (faces drawn by hand), over what they share: ``images`` (the files a crawl or a
bootstrap takes) and ``processing`` (an image's way through detection). ``scoring``: the
learner's verdicts on every face. Review, one module per workflow: ``leases`` (serving the
next face, held for its reviewer), ``answers`` (an answer, a skip, a pick, the grid's
verdicts), ``undo``, ``drawing`` (a box drawn or corrected), ``twins`` (one answer for the
same face in identical files), over ``refusals`` (why an action is refused).
"""
