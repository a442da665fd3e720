"""Git plumbing for agents, gates and patches: worktrees, diffs, applying changes.

Everything runs git as a subprocess with a clean environment, and nothing here
touches the user's working tree, index or checked-out branch unless a function
says so (:mod:`runwright.patches.apply` decides when that is safe).
"""
