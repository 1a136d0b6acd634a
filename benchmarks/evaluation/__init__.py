"""A truthful reviewer on a labelled manifest: the data (``dataset``), the reviewer and the
in-memory driver (``reviewer``), and the driver through the app (``in_app``)."""
