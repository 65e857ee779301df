"""Importing files of submissions (KoboToolbox CSV, XLSX and API JSON; ODK Central CSV and zip;
plain CSV and XLSX) against a form, checking every answer: the pages, the API and the
background task, and the readers they share with collection and exports.

- :mod:`.sources` streams a file as batches of text columns, whatever its format;
- :mod:`.encoding` makes sure the text is read in the encoding it was written in;
- :mod:`.schema` reads a form version's fields once;
- :mod:`.convert` maps columns to fields, checks every answer and builds the stored JSON;
- :mod:`.sealing` hashes each row and encrypts its personal answers;
- :mod:`.services` runs an import, all or nothing or with a report of skipped rows.

:mod:`amniyat.fieldwork.submissions.exporters` writes submissions back out in the same formats.
"""
