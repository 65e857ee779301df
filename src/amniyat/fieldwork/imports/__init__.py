"""Reading files of submissions (KoboToolbox CSV, XLSX and API JSON; ODK Central CSV and zip;
plain CSV and XLSX) against a form, checking every answer, and writing them back out in the
same formats.

- :mod:`.sources` streams a file as batches of text columns, whatever its format;
- :mod:`.encoding` makes sure the text is read in the encoding it was written in;
- :mod:`.schema` reads a form version's fields once;
- :mod:`.convert` maps columns to fields, checks every answer and builds the stored JSON;
- :mod:`.exporters` writes submissions as the same formats (and as labelled tables).
"""

from amniyat.fieldwork.importers.convert import Converted, SubmissionReader
from amniyat.fieldwork.importers.errors import FileRejected, Problem
from amniyat.fieldwork.importers.schema import FormPlan, build_plan, plan_for
from amniyat.fieldwork.importers.sources import FORMATS, format_label

__all__ = [
    "FORMATS",
    "Converted",
    "FileRejected",
    "FormPlan",
    "Problem",
    "SubmissionReader",
    "build_plan",
    "format_label",
    "plan_for",
]
