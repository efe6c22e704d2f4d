"""The grader's parts: the sandbox a submission runs in, the runner, scoring and the report.

``python -m mtl_kit.grade`` (:mod:`mtl_kit.grade`) is the command that puts them together.
"""
