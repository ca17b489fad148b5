"""Leak tracing: given records seen for sale and the date they were listed, who could have sold them?

:mod:`.sample` reads the listing, :mod:`.index` keeps the access index, :mod:`.trace` scores the accounts
(the model is described there).
"""

from custodiet.leaks.index import days_path, ensure_index, index_path
from custodiet.leaks.sample import LeakInputError, read_sample
from custodiet.leaks.trace import TraceResult, poisson_tail, trace, verdict

__all__ = ["LeakInputError", "TraceResult", "days_path", "ensure_index", "index_path", "poisson_tail",
           "read_sample", "trace", "verdict"]
