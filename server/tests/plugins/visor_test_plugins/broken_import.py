"""A plugin module that cannot be imported."""

import visor_dependency_that_does_not_exist  # noqa: F401
