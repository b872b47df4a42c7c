"""The one set of settings that decides which engine runs.

The command line builds it from its options; the library, batch steps, Ray actors and
review workspaces all take it. It is frozen, hashable and picklable, so it can travel to
worker processes and key a per-process engine cache.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from restore.engine.restorer import Restorer


@dataclass(frozen=True)
class EngineConfig:
    """Which models and lists the engine loads.

    >>> EngineConfig(lexicons=("site.txt",)).with_exclude(["政府"]).exclude
    ('政府',)
    """

    model_dir: str | None = None  # language models; None: the bundled ones
    lexicons: tuple[str, ...] = ()  # filter-list files, added to the bundled list
    replace_lexicon: bool = False  # use only ``lexicons``, not the bundled list
    index: str | None = None  # corpus index directory; None: the built one, if any
    use_index: bool = True
    neural: str | None = None  # neural model directory; None: the bundled one
    use_neural: bool = False
    exclude: tuple[str, ...] = ()  # list entries never proposed (what a site shows intact)
    inferred: tuple[str, ...] = ()  # entries inferred from the site's own pages, added to the list

    def with_exclude(self, exclude: tuple[str, ...] | list[str]) -> EngineConfig:
        return replace(self, exclude=tuple(exclude))

    def restorer(self) -> Restorer:
        """This process's engine for these settings, loaded once (see :func:`engine_for`)."""
        return engine_for(self)


# One engine per process and settings: forked workers and actors each build theirs once;
# the kenlm models are memory-mapped, so their pages are shared between processes.
_ENGINES: dict[EngineConfig, Restorer] = {}


def engine_for(config: EngineConfig) -> Restorer:
    engine = _ENGINES.get(config)
    if engine is None:
        from restore.engine.restorer import Restorer

        engine = Restorer.from_config(config)
        _ENGINES[config] = engine
    return engine
