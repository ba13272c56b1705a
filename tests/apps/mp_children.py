"""multiprocessing children (fork start method) deliver their spans with no flush in user code."""

from __future__ import annotations

import multiprocessing
import os

from honeyhive import HoneyHiveTracer, trace

tracer = HoneyHiveTracer(project="mp", schedule_delay=30)


@trace(tracer=tracer)
def work(item: int) -> int:
    return item * 2


def child(start: int) -> None:
    for item in range(start, start + 100):
        work(item)


if __name__ == "__main__":
    context = multiprocessing.get_context("fork")
    processes = [context.Process(target=child, args=(n * 100,)) for n in range(4)]
    for process in processes:
        process.start()
    for process in processes:
        process.join(30)
    assert all(p.exitcode == 0 for p in processes), [p.exitcode for p in processes]
    print(os.getpid())
