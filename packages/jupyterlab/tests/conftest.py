import sys
from pathlib import Path

# The package from this checkout (it is never pip-installed into the shared venv).
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
