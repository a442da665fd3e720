"""LLM providers behind one small protocol (:mod:`runwright.providers.base`).

Built from ``[providers.NAME]`` by :func:`~runwright.providers.factory.build_provider`;
the engine never imports this package.
"""
