"""``python -m llama_cpp.server``, with llama.cpp's extra weight buffer types turned off.

llama.cpp repacks weights into "extra" buffer types when the CPU has the instructions for them
(AMX tiles on recent Xeons, AVX-512 or NEON layouts elsewhere). A source build of
llama-cpp-python tuned for such a CPU crashed on the first completion of SmolLM2's Q4_1
weights (segmentation fault, seen on a Xeon with AMX); plain buffers answer the same on every
CPU, and for a 135M model the repacking buys little. ``CODEMEND_EMBEDDED_EXTRA_BUFFERS=1``
turns them back on.

    python -m codemend.llm._llama_server [llama_cpp.server arguments...]
"""

from __future__ import annotations

import os

import llama_cpp.llama_cpp as lib
from llama_cpp.server.__main__ import main

_library_defaults = lib.llama_model_default_params


def _plain_buffers() -> lib.llama_model_params:
    params = _library_defaults()
    params.use_extra_bufts = False
    return params


if __name__ == "__main__":
    if os.environ.get("CODEMEND_EMBEDDED_EXTRA_BUFFERS", "") != "1":
        lib.llama_model_default_params = _plain_buffers
    main()
