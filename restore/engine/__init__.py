"""The engine: document -> detect -> suggest -> rescore -> decide.

- :mod:`.normalize`: the length-preserving view of text the models read;
- :mod:`.detect`: junctions where text is likely missing, and masks;
- :mod:`.suggest`: candidates for each junction, scored from both sides;
- :mod:`.rescore`: long-context evidence (corpus index, neural model);
- :mod:`.decision`: calibrated confidence from named features;
- :mod:`.restorer`: :class:`Restorer`, the library entry point;
- :mod:`.config`: :class:`EngineConfig`, the one set of engine settings.
"""
