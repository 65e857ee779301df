"""Every write to fieldwork data, one module per part: ``forms`` (assessments, XLSForms,
sensitivity, publishing), ``imports`` (files of submissions), ``collection`` (ODK Collect
devices and submissions)."""
