"""Coding agents: presets (how each CLI is run and read), the sandbox, and one agent run.

The ``agent`` step kind (:mod:`runwright.steps.agent`) is thin over this room;
the engine never imports it.
"""
