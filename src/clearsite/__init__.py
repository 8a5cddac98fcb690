"""clearsite: find, judge, plan, publish and prove the removal of NIL-subject surveillance equipment.

The package is layered (import-linter holds the rules; see README "Layout"): `core` (pure rules and
models), `formats`, `store` and `render` on it, `discover`, `services` (one function per verb), and
the doors `cli` and `web`. Importing this package loads nothing else, so `clearsite --help` stays fast.
"""

__all__: list[str] = []
