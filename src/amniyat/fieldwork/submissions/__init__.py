"""Submissions once stored: the table to browse and filter, exports in the formats they came
in, and the columnar frames the analysis reads."""
