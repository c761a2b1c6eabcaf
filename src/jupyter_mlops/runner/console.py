"""What a pipeline run prints and how it exits, shared by ``python -m jupyter_mlops.runner``
(the container's entry point) and ``jupyter mlops pipeline run``.

==========  =========================================================
exit code   meaning
==========  =========================================================
0           every step passed (or was reused)
1           a step failed
2           bad arguments: an unknown parameter or step, a bad value
3           a gate failed; nothing downstream of it ran
4           a drift check stopped the pipeline; nothing downstream ran
130, 143    interrupted (SIGINT, SIGTERM): the running step was stopped
            and the pipeline run recorded as killed
==========  =========================================================

    print_line = lambda text: print(text, flush=True)
    result = run_pipeline(directory, on_progress=lambda s: print_line(s.progress_line()))
    for line in summary_lines(result):
        print_line(line)
    sys.exit(exit_code(result))
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .step import EXIT_DRIFT_STOPPED, EXIT_FAILED, EXIT_GATE_FAILED, EXIT_OK

if TYPE_CHECKING:
    from .results import PipelineRunResult

EXIT_USAGE = 2


def summary_lines(result: PipelineRunResult) -> list[str]:
    """The lines after the per-step progress: outcome, where it is recorded, parity."""
    cached = sum(1 for s in result.steps if s.cached)
    ran = sum(1 for s in result.steps if s.ran)
    lines = [
        f"pipeline {result.pipeline}: {result.status} in {result.duration_s:.2f} s"
        f" ({ran} step(s) run, {cached} skipped as unchanged or reused)",
        f"recorded as run {result.run_id} (experiment {result.experiment}) in"
        f" {result.registry_path}",
    ]
    if result.parity is not None:
        lines.append(result.parity.summary(with_causes=False))
        lines.extend(f"  likely cause: {cause}" for cause in result.parity.likely_causes)
    return lines


def failure_lines(result: PipelineRunResult) -> list[str]:
    """What to print on stderr when the run did not pass: the step, its message, its log."""
    if result.ok or result.failed_step is None:
        return []
    failed = result.step(result.failed_step)
    return [f"Error: {failed.message}", f"See {failed.log_path}"]


def interrupted_line(exc: KeyboardInterrupt) -> str:
    """What an entry point prints when the runner was interrupted (Ctrl-C, SIGTERM)."""
    why = str(exc) or "interrupted"
    return (
        f"Stopped ({why}): the running step was stopped and the pipeline run recorded as"
        " killed; see it with: jupyter mlops pipeline show last"
    )


def exit_code(result: PipelineRunResult) -> int:
    """The process exit status for ``result`` (see the module docstring)."""
    return {
        "ok": EXIT_OK,
        "gate_failed": EXIT_GATE_FAILED,
        "drift_stopped": EXIT_DRIFT_STOPPED,
    }.get(result.status, EXIT_FAILED)
