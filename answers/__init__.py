"""Answers: finding the answer a text commits to, and deciding whether two answers are equal.

Used by synthesis (rejection sampling) and by eval alike. Light on purpose: it imports no model
layer (no openai, no langchain), so ``import eval.math`` stays fast.

- ``answers.extract``: ``last_boxed`` and the other ways outputs state an answer.
- ``answers.verify``: ``Verifier``, math-verify in worker processes with time and memory limits.
"""
