"""Models and data read at run time: the character language models, the neural model,
the corpus index, filter lists and the phrase dictionary. Building them lives in
:mod:`restore.training`; nothing here imports it."""
