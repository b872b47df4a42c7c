"""Restoring collections: one picklable step per record (:mod:`.step`), a resumable
local runner (:mod:`.runner`), and the same step on Ray (:mod:`.ray`)."""
