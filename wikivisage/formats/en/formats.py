"""English dates, read the same on both sides of the Atlantic: "7 Dec 2026, 02:43".

Django's English short form, "12/07/2026 2:43 a.m.", is 12 July to a British reader and
7 December to an American one. Every page shows a time as ``DATETIME_FORMAT`` (a
``datetime`` printed as is uses it too); the short form is the same, so a template that
asks for it says the same thing. The other languages keep Django's, which name the month.
"""

DATETIME_FORMAT = SHORT_DATETIME_FORMAT = "j M Y, H:i"
DATE_FORMAT = SHORT_DATE_FORMAT = "j M Y"
