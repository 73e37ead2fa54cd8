"""Exit codes of the pipeline's commands, and the SIGTERM handler that stops them.

``python -m pipeline``, ``python -m pipeline.submit`` and ``python -m
analysis`` exit with these codes (the README's table):

- 0 PASS, 1 FAIL, 4 INCONCLUSIVE: the run ended with that verdict;
- 2: refused before anything was written;
- 3: stopped after writing began; the same command resumes the store;
- 143 and 130: stopped by SIGTERM (a batch system's preemption) or Ctrl-C.
"""

from __future__ import annotations

import signal

VERDICT_CODES = {"PASS": 0, "FAIL": 1, "INCONCLUSIVE": 4}
"""Exit code of a run that ended with each overall verdict (:class:`analysis.summary.Summary`)."""
REFUSED = 2
"""Exit code of a run refused before it wrote anything."""
STOPPED = 3
"""Exit code of a run that stopped on an error after it started writing."""
TERMINATED = 128 + signal.SIGTERM
"""Exit code of a run stopped by SIGTERM."""
INTERRUPTED = 128 + signal.SIGINT
"""Exit code of a run stopped by Ctrl-C."""


def terminate(signum: int, frame: object) -> None:
    """Raise ``SystemExit(TERMINATED)``: the run records itself interrupted and releases its
    lease on the way out.  Further SIGTERMs are ignored from then on.

    SLURM sends a preempted job SIGTERM twice, at once and at the end of its
    grace time, and requeues a job with another SIGTERM: a second
    ``SystemExit`` raised inside the clean-up the first began would cut it
    short and leave the lease to lapse.
    """
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    raise SystemExit(TERMINATED)
