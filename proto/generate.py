"""Regenerate the Python stubs of ``sketch.proto``: ``python -m clipsketch.proto.generate [--check]``.

The file is compiled under the import path ``clipsketch/proto/sketch.proto`` so that the generated modules import
each other as ``clipsketch.proto.sketch_pb2``. ``--check`` exits 1 when the stubs beside it differ (drift), apart
from the compiler's version stamps (:data:`STAMPS`): a newer grpcio-tools stamps its own version, which says
nothing of the proto, and the stamps committed are the lowest grpcio and protobuf the stubs need (pyproject's
floors), which regenerating with a newer compiler would raise.
"""

from __future__ import annotations

import re
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
STUBS = ("sketch_pb2.py", "sketch_pb2_grpc.py", "sketch_pb2.pyi")
STAMPS = (
    (re.compile(r"GRPC_GENERATED_VERSION = '[^']*'"), "GRPC_GENERATED_VERSION = ''"),
    (re.compile(r"# Protobuf Python Version: .*"), "# Protobuf Python Version:"),
    (re.compile(r"(ValidateProtobufRuntimeVersion\(\s*_runtime_version\.Domain\.PUBLIC,)\s*\d+,\s*\d+,\s*\d+,"),
     r"\1"),
)
"""The version stamps in generated stubs (pattern, what it is compared as)."""


def unstamped(text: str) -> str:
    """``text`` (a generated stub) with its compiler's version stamps blanked."""
    for pattern, blank in STAMPS:
        text = pattern.sub(blank, text)
    return text


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
        stale = [name for name, text in fresh.items()
                 if not (HERE / name).is_file() or unstamped((HERE / name).read_text()) != unstamped(text)]
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
