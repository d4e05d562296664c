"""File mode: exports dropped into ``landing/<source>/`` mapped to the raw contract and loaded once."""
