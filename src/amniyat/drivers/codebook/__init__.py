"""The codebook: the programme's concerns and drivers of insecurity, in four languages, seeded
from the standard list and edited, imported and exported by the team."""
