"""The llama.cpp server child of the ``local`` provider: ``python llamacpp_child.py ...``.

Run as a script (never imported by runwright), so the child imports nothing but the
standard library and xllamacpp. It serves ``MODEL`` on 127.0.0.1 with an ephemeral
port, prints the address on one line once the model is loaded, and lives until its
standard input closes — which happens when the parent stops it or dies in any way,
SIGKILL included. On Linux it also asks the kernel to kill it with its parent.

Usage: llamacpp_child.py PARENT_PID MODEL THREADS CONTEXT_TOKENS PARALLEL
"""

from __future__ import annotations

import os
import signal
import sys


def _die_with_parent(parent: int) -> None:
    if sys.platform.startswith("linux"):
        import ctypes

        pr_set_pdeathsig = 1
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(pr_set_pdeathsig, signal.SIGKILL)
    if os.getppid() != parent:  # the parent died before prctl took effect
        os._exit(1)


def main(argv: list[str]) -> None:
    parent, model, threads, context, parallel = argv
    _die_with_parent(int(parent))
    # The parent decides when to stop (Ctrl-C reaches the whole foreground group).
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    import xllamacpp

    params = xllamacpp.CommonParams()
    params.model.path = model
    params.n_ctx = int(context)
    params.n_parallel = int(parallel)
    params.hostnames = ["127.0.0.1"]
    params.port = 0
    # llama.cpp's defaults (every core, a warm-up pass) took 18 s to start and gave
    # 1-2 tokens/s on a shared 2-core machine; one thread and no warm-up: 0.7 s, ~30/s.
    params.warmup = False
    params.cpuparams.n_threads = int(threads)
    params.cpuparams_batch.n_threads = int(threads)
    server = xllamacpp.Server(params)
    print(server.listening_address, flush=True)
    sys.stdin.read()  # EOF: the parent stopped us or is gone
    os._exit(0)  # the server's threads are not ours to join


if __name__ == "__main__":
    main(sys.argv[1:])
