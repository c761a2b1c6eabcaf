"""Per-epoch loss curves of a PyTorch training loop, from one line: the loss module watched.

``mlops.watch_loss(loss_fn)`` registers a forward hook on the loss module (``nn.MSELoss``,
``nn.CrossEntropyLoss``, any ``nn.Module`` that returns the loss), nothing patched. Each
call adds its value, weighted by the batch's size, to the epoch under way of its phase:
*train* while gradients are enabled, *val* under ``torch.no_grad()`` or
``torch.inference_mode()``, as a loop evaluates. An epoch of a phase ends when the other
phase begins (a validation pass after training, training again after it), after
``steps_per_epoch`` training batches when that is given (a loop with no validation), and
when the run ends. Each ended epoch logs its mean to the active run as ``train_loss`` /
``val_loss`` (``train_<name>`` with ``name=``) at the step of its epoch, from 0::

    loss_fn = mlops.watch_loss(nn.CrossEntropyLoss())    # the one line
    for epoch in range(20):
        model.train()
        for xb, yb in train_loader:
            loss = loss_fn(model(xb), yb)
            optimizer.zero_grad(); loss.backward(); optimizer.step()
        model.eval()
        with torch.no_grad():
            for xb, yb in valid_loader:
                loss_fn(model(xb), yb)

The values are read with ``detach()``: the loss and its gradients are the loop's own.
With no active run the hook does nothing; a new run starts its epochs from 0. PyTorch is
never imported here until a watched module is called.
"""

from __future__ import annotations

import logging
import sys
import threading
from dataclasses import dataclass, field
from typing import Any

from ...errors import InvalidInputError
from ..session import SESSION
from ..unrecorded import UnrecordedRun
from ..values import check_key

logger = logging.getLogger(__name__)

PHASES = ("train", "val")


@dataclass
class _Epoch:
    """The loss of the epoch under way of one phase: a weighted sum and its weight."""

    total: float = 0.0
    weight: float = 0.0
    batches: int = 0


@dataclass
class LossWatch:
    """The state of one watched loss module (see the module's docstring)."""

    name: str
    steps_per_epoch: int | None
    run_id: str | None = None
    phase: str | None = None
    epochs: dict[str, int] = field(default_factory=lambda: dict.fromkeys(PHASES, 0))
    open: dict[str, _Epoch] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def key(self, phase: str) -> str:
        return f"{phase}_{self.name}"

    def __call__(self, module: Any, inputs: Any, output: Any) -> None:
        try:
            self.observe(inputs, output)
        except Exception:  # the loop is the user's: a tracking failure never breaks it
            logger.warning("The loss of %s was not recorded", type(module).__name__, exc_info=True)

    def observe(self, inputs: Any, output: Any) -> None:
        run = SESSION.active_run()
        if run is None or isinstance(run, UnrecordedRun) or run.status != "running":
            return
        torch = sys.modules["torch"]
        phase = "train" if torch.is_grad_enabled() else "val"
        value = float(output.detach().float().mean())
        weight = _batch_size(inputs)
        with self.lock:
            if run.id != self.run_id:  # a new run: its epochs count from 0
                self.run_id, self.phase, self.open = run.id, None, {}
                self.epochs = dict.fromkeys(PHASES, 0)
                run.before_end(lambda: self.close_all(run))
            if self.phase is not None and phase != self.phase:
                self.close(run, self.phase)
            self.phase = phase
            epoch = self.open.setdefault(phase, _Epoch())
            epoch.total += value * weight
            epoch.weight += weight
            epoch.batches += 1
            if phase == "train" and self.steps_per_epoch and epoch.batches >= self.steps_per_epoch:
                self.close(run, phase)

    def close(self, run: Any, phase: str) -> None:
        """End the epoch under way of ``phase``: log its mean at its epoch's step."""
        epoch = self.open.pop(phase, None)
        if epoch is None or not epoch.weight:
            return
        step = self.epochs[phase]
        self.epochs[phase] = step + 1
        run.log({self.key(phase): epoch.total / epoch.weight}, step=step)

    def close_all(self, run: Any) -> None:
        with self.lock:
            if run.id == self.run_id:
                for phase in PHASES:
                    self.close(run, phase)
                self.phase = None


def _batch_size(inputs: Any) -> float:
    """The rows of the batch a loss was computed on (its first input's length), so that
    an epoch's mean is over its rows, a short last batch counting for what it holds."""
    first = inputs[0] if isinstance(inputs, tuple) and inputs else None
    try:
        return float(len(first)) or 1.0 if first is not None else 1.0
    except TypeError:  # a 0-d tensor or an object without a length
        return 1.0


def watch_loss(loss_fn: Any, *, name: str = "loss", steps_per_epoch: int | None = None) -> Any:
    """Watch a PyTorch loss module: per-epoch ``train_loss`` and ``val_loss`` curves of the
    active run (see :mod:`jupyter_mlops.tracking.autolog.torch_loss`). Returns the module
    itself, so it wraps the line that makes it::

        loss_fn = mlops.watch_loss(nn.CrossEntropyLoss())
        loss_fn = mlops.watch_loss(nn.MSELoss(), steps_per_epoch=len(loader))  # no validation
    """
    if not callable(getattr(loss_fn, "register_forward_hook", None)):
        raise InvalidInputError(
            f"watch_loss() needs a PyTorch loss module, not {type(loss_fn).__name__}",
            hint="Pass the module that computes the loss, e.g. "
            "mlops.watch_loss(torch.nn.CrossEntropyLoss()); for a plain function, "
            "log its value with mlops.log(loss=..., step=epoch).",
        )
    if not isinstance(name, str) or not name.strip():
        raise InvalidInputError(
            f"watch_loss(name={name!r}) needs a non-empty name for its curves",
            hint='Give the name of the loss, e.g. name="mae" for train_mae and val_mae.',
        )
    check_key("metric", f"train_{name}")
    if steps_per_epoch is not None and (
        isinstance(steps_per_epoch, bool)
        or not isinstance(steps_per_epoch, int)
        or steps_per_epoch < 1
    ):
        raise InvalidInputError(
            f"steps_per_epoch={steps_per_epoch!r} is not a positive whole number of batches",
            hint="Give the number of training batches of an epoch, e.g. len(train_loader).",
        )
    loss_fn.register_forward_hook(LossWatch(name, steps_per_epoch))
    return loss_fn
