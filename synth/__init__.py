"""Running a method over problems: the runner, worker processes, Ray shards, resume and the manifest.

It reads only ``graphs.method.Method`` values (from the ``graphs.registry.METHODS`` dict).
"""
