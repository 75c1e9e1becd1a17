"""API keys, scopes and quotas: who may call Visor, and how much (SPEC §7).

One ASGI middleware (:mod:`app.auth.middleware`) is the enforcement point for every door;
the scope each route needs is declared in one table (:mod:`app.auth.policy`). Code below
the API reads the caller from a context variable (:func:`app.auth.principal.current_principal`).
See docs/security.md.
"""
