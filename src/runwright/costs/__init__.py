"""Costs and budgets: the price table, the guard every spending call goes through.

See :mod:`runwright.costs.guard` for the one path (reserve, call, settle) and
:mod:`runwright.costs.prices` for where prices come from.
"""
