"""Experiments: arms (a corpus and training stages), seeds and an eval suite, run step by step with
resume, reported with intervals and paired differences (``journey experiment``)."""
