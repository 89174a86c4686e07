"""The language server: pygls glue around the analysis core (`ml-engineer serve`)."""
