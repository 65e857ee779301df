"""Driver maps: factors and the links between them drawn from the evidence; the editor, what
the map's shape says (root causes, leverage points, feedback loops) and exchange with other
tools."""
