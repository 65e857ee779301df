"""Evidence and coding: focus-group and interview notes as sources, split into passages, coded
into excerpts against the codebook; agreement between coders; quotes proposed and approved for
publication; QDPX exchange with other qualitative tools."""
