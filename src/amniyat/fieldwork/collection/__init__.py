"""Collection in the field: the OpenRosa server that ODK Collect and Enketo talk to, and the
devices that sign their requests."""
