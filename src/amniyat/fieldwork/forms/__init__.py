"""Assessments and their XLSForms: upload, check with pyxform, sensitivity of each field,
publishing and closing."""
