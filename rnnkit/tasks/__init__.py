"""Task recipes: wire data, a model and the trainer for one task (the CLI calls these).

This package is not in the design guide's layout: the guide has the CLI call the Python API, and
a recipe per task is that API, usable from Python as it is from the command line. Each task's
defaults live in ``rnnkit.tasks.defaults`` (``resolve(task, ...)`` gives what ``rnnkit train
TASK`` trains).
"""
