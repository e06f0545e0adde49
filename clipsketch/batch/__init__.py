"""``clipsketch batch``: many photos, resumable, in process or over a fleet of servers.

:mod:`.photos` says which photos and where their outputs go, :mod:`.manifest` what was done before,
:mod:`.fleet` where jobs run and what a failure means, :mod:`.runner` runs them, :mod:`.outputs` writes the files.
"""

RETRIES = 4
"""Times a job is sent again after a failure another server may get past."""
PATIENCE = 60.0
"""Seconds with no server ready before the waiting jobs are recorded as failed."""
