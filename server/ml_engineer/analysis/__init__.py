"""Analysis core: source text -> tree -> semantic model -> findings. No LSP, no network."""
