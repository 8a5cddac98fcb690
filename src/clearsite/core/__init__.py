"""The pure core: models and vocabularies, errors, names, the knowledge schema, identify, assess,
screen, reconcile and the planner. No file, socket, SQL or clock.

Nothing is re-exported here: import from the module that holds a name (`clearsite.core.models`,
`clearsite.core.errors`, `clearsite.core.identify`, ...). Importing this package is then free, so a
door that needs only the error tree does not load the planner's numpy and OR-Tools with it.
"""

__all__: list[str] = []
