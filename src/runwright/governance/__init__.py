"""Trust levels: what a step may do, checked before it acts, every decision an event.

A level maps to capabilities (:mod:`runwright.governance.levels`); each step kind says
which it would use (``capabilities(params)``); :class:`~runwright.governance.policy.TrustPolicy`
compares the two for the engine, which depends only on its
:class:`~runwright.engine.governor.Governor` protocol.
"""
