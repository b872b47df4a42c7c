"""Measuring restoration: simulated filters damage clean text (:mod:`.simulate`) and the
engine's repair is scored against it (:mod:`.measure`), for ``restore eval`` and bench/."""
