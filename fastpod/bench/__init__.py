"""``fastpod bench``: how fast pods start, restart and churn here, beside the alternatives.

The scenarios start their own ``fastpod run`` (and the peers that are installed), measure
every pod, and write a versioned JSON record, a Markdown report and (with matplotlib) plots.
The numbers are worked out by pure functions (:mod:`~fastpod.bench.stats`,
:mod:`~fastpod.bench.figures`, :mod:`~fastpod.bench.report`); processes, files, the runtime
and the terminal are at the edges.
"""
