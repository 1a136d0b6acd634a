"""An uploader's own view (issue #26): the suggestions on the files they uploaded to Commons,
across the projects that allow uploaders, to confirm or reject; and the notice that tells
them, at most once a day."""
