"""``clipsketch batch``: many photos, resumable, in process or over a fleet of servers.

:mod:`.command` is the command line, :mod:`.photos` says which photos and where their outputs go, :mod:`.manifest`
what was done before, :mod:`.fleet` which servers the jobs run on, :mod:`.runner` runs them through
:mod:`clipsketch.session` and writes their files with :mod:`clipsketch.outputs`.
"""

RETRIES = 4
"""Times a job is sent again after a failure another server may get past."""
PATIENCE = 60.0
"""Seconds with no server ready before the waiting jobs are recorded as failed."""
