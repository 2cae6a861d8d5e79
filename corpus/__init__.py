"""Corpora on disk: problem sets, the trace schema, the rendered long thought, corpus files.

Below the graphs: methods and the runner read and write these types; the trainer, eval and
reports read them too, without importing a graph.
"""
