"""The patch ledger: every agent attempt's diff, its state, and every move an event.

``proposed -> validated -> accepted -> applied``, or ``rejected | conflicted |
rolled_back``. Diffs are blobs; a gate or an apply may run on another worker,
since everything they need is in the store.
"""
