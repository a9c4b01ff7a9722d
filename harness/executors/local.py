"""The local executor: ``--jobs`` threads on this machine, each driving one trusted worker."""

from __future__ import annotations

import queue
import threading
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor

from .base import Emit, RunOutcome, Task, Work, grade_task, make_pipeline


class LocalExecutor:
    name = "local"

    def __init__(self, *, jobs: int) -> None:
        self.jobs = jobs

    def describe(self) -> str:
        return f"local ({self.jobs} at a time)"

    def run(self, work: Work, tasks: Sequence[Task], emit: Emit) -> RunOutcome:
        pipeline = make_pipeline(work)
        slots: queue.Queue[int] = queue.Queue()
        for i in range(self.jobs):
            slots.put(i)
        stop = threading.Event()
        graded: list[str] = []
        report_lock = threading.Lock()

        def run_one(task: Task) -> None:
            if stop.is_set():
                return
            emit("start", task.student_id, None, "")
            slot = slots.get()
            try:
                result = grade_task(
                    work, pipeline, task, slot=slot, stopped=stop.is_set, report_lock=report_lock
                )
            finally:
                slots.put(slot)
            if result is None:
                return
            graded.append(task.student_id)
            emit("done", task.student_id, result, "")

        interrupted = False
        pool = ThreadPoolExecutor(max_workers=self.jobs, thread_name_prefix="grade")
        try:
            futures = [pool.submit(run_one, task) for task in tasks]
            for f in futures:
                while True:
                    try:
                        f.result(timeout=0.5)
                        break
                    except TimeoutError:
                        continue
        except KeyboardInterrupt:
            interrupted = True
            stop.set()
            pipeline.cancel()
            pool.shutdown(wait=True, cancel_futures=True)
        finally:
            pool.shutdown(wait=True, cancel_futures=True)
            pipeline.close()  # its zygotes end with the run
        return RunOutcome(graded=tuple(graded), interrupted=interrupted)
