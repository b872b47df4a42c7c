"""Review workflow (import, terminal loop, export): see issue "Review flow"."""
