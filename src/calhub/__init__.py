"""calhub: a self-hostable calendar integration hub.

The package is layered as ``shared/design/ARCHITECTURE.md`` draws it (and import-linter checks):
``cli``, ``api`` and ``workers`` drive ``services``, which use ``sync``, ``providers`` and
``storage``, all of which stand on the pure ``domain``. ``bootstrap`` is the composition root.
Nothing is built at import time.
"""

__version__ = "0.1.0"
