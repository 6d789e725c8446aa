import sys
from pathlib import Path

# Make the test helpers (hand-written fixtures) and the package importable.
HERE = Path(__file__).resolve().parent
for p in (HERE, HERE.parent):
    if str(p) not in sys.path:
        sys.path.insert(0, str(p))
