"""The site agent: runs at a site, scans inside its networks, spools to disk, pushes to the centre."""

import sys

# Importing httpx also imports its own command-line tool (click, rich and pygments: a fifth of the agent's
# start-up) whenever those happen to be installed; the agent never runs it. httpx treats that tool as
# optional (an ImportError leaves a stub in its place), and None in sys.modules is Python's way to make
# an import fail. Set before any agent module imports httpx.
sys.modules.setdefault("httpx._main", None)  # type: ignore[arg-type]
