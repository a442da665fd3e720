"""STAND-IN for h/patches' runwright.patches (INTERFACES §2; no store writes).

On merge, take h/patches' versions of these files.
"""
