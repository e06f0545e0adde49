"""Regenerate the Python stubs of ``sketch.proto``: ``python -m clipsketch.proto.generate [--check]``.

The file is compiled under the import path ``clipsketch/proto/sketch.proto`` so that the generated modules import
each other as ``clipsketch.proto.sketch_pb2``. ``--check`` exits 1 when the stubs beside it differ (drift).
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
STUBS = ("sketch_pb2.py", "sketch_pb2_grpc.py", "sketch_pb2.pyi")


def generate(out: Path) -> dict[str, str]:
    """Compile ``sketch.proto`` into ``out``; return the stubs' text by file name."""
    import grpc_tools
    from grpc_tools import protoc

    include = Path(grpc_tools.__file__).parent / "_proto"
    arguments = [
        "protoc", f"-Iclipsketch/proto={HERE}", f"-I{include}", f"--python_out={out}", f"--pyi_out={out}",
        f"--grpc_python_out={out}", "clipsketch/proto/sketch.proto",
    ]
    if protoc.main(arguments) != 0:
        raise RuntimeError("protoc failed on sketch.proto")
    return {name: (out / "clipsketch" / "proto" / name).read_text() for name in STUBS}


def main() -> int:
    with tempfile.TemporaryDirectory() as folder:
        fresh = generate(Path(folder))
    if "--check" in sys.argv[1:]:
        stale = [name for name, text in fresh.items() if not (HERE / name).is_file() or (HERE / name).read_text() != text]
        if stale:
            print(f"stale generated stubs: {', '.join(stale)}; run python -m clipsketch.proto.generate")
            return 1
        return 0
    for name, text in fresh.items():
        (HERE / name).write_text(text)
    print(f"wrote {', '.join(STUBS)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
