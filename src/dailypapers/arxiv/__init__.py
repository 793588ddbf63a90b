"""arXiv's interfaces: query grammar, Atom parsing and the HTTP client."""
