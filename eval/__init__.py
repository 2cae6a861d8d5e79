"""Evaluation: math (accuracy with output tokens), safety and factuality."""
