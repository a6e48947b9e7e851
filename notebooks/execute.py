"""Execute rae_mdl.ipynb in place, top to bottom, on the results in ONLINEZIP_RESULTS (default:
results/crossover), saving its outputs; on the committed results it also rewrites figures/.

    python notebooks/execute.py [--out OTHER.ipynb]
"""

import argparse
import sys
from pathlib import Path

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

HERE = Path(__file__).resolve().parent


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", help="write the executed notebook here (default: in place)")
    args = parser.parse_args()
    path = HERE / "rae_mdl.ipynb"
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(nb, timeout=600, kernel_name="python3",
                            resources={"metadata": {"path": str(HERE)}})
    try:
        client.execute()
    except CellExecutionError as exc:
        print(f"the notebook failed: {str(exc).strip().splitlines()[-1]}", file=sys.stderr)
        return 1
    nbformat.write(nb, args.out or path)
    print(f"executed {path.name} -> {args.out or path}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
