"""The processes of the many-process mode (SPEC §11) and what each one is.

``ROLE=all`` is one parent (``supervisor.py``) that shares the keys, starts one engine and
``GATEWAYS`` gateways as children of its own and restarts any that dies; each child ties its
life to that parent (``parent_watch.py``), so no child outlives it, even a ``kill -9``.
``roles.py`` is what an engine and a gateway run.
"""
