"""Assisted coding: a model trained on the programme's own coded passages suggests codes for
the passages nobody has coded yet, and applies nothing until a person accepts."""
