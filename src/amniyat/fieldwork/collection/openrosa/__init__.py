"""The OpenRosa 1.0 server that ODK Collect and Enketo talk to directly: form list, form
download, manifest and submission, each behind per-device Digest (or, over TLS, Basic)
authentication. See https://docs.getodk.org/openrosa/ for the specification."""
