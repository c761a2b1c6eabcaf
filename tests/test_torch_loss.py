"""PyTorch training loops: per-epoch loss curves from one line, the loop's results its own."""

from __future__ import annotations

from typing import Any

import pytest

import jupyter_mlops as mlops
from jupyter_mlops.errors import InvalidInputError

torch = pytest.importorskip("torch")
nn = torch.nn


def data(seed: int = 0) -> tuple[Any, Any, Any, Any]:
    generator = torch.Generator().manual_seed(seed)
    X = torch.randn(250, 4, generator=generator)
    y = X @ torch.tensor([1.0, -2.0, 0.5, 0.0]) + 0.1 * torch.randn(250, generator=generator)
    return X[:200], y[:200], X[200:], y[200:]


def train(loss_fn: Any, epochs: int = 5, validate: bool = True, batch: int = 64) -> list[Any]:
    """A plain loop; returns the per-epoch mean losses it computes itself, weighted by
    batch size: (train, val) per epoch."""
    torch.manual_seed(0)
    X, y, Xv, yv = data()
    model = nn.Linear(4, 1)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.05)
    seen = []
    for _ in range(epochs):
        model.train()
        total = 0.0
        for start in range(0, len(X), batch):
            xb, yb = X[start : start + batch], y[start : start + batch]
            loss = loss_fn(model(xb).squeeze(1), yb)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            total += loss.item() * len(xb)
        val = None
        if validate:
            model.eval()
            with torch.no_grad():
                val = loss_fn(model(Xv).squeeze(1), yv).item()
        seen.append((total / len(X), val))
    seen.append(model.weight.detach().clone())
    return seen


def test_one_line_gives_per_epoch_train_and_val_curves_equal_to_the_loops_own(registry) -> None:
    with mlops.start_run("torch") as run:
        seen = train(mlops.watch_loss(nn.MSELoss()), epochs=5)
    weights = seen.pop()
    detail = mlops.get_run(run.id)
    assert [step for step, _ in detail.series["train_loss"]] == [0, 1, 2, 3, 4]
    assert [v for _, v in detail.series["train_loss"]] == pytest.approx([t for t, _ in seen])
    assert [v for _, v in detail.series["val_loss"]] == pytest.approx([v for _, v in seen])
    assert detail.series["train_loss"][-1][1] < detail.series["train_loss"][0][1]  # it learns

    # the loop's results are its own: the same training untracked gives the same weights
    untracked = train(nn.MSELoss(), epochs=5)
    assert torch.equal(untracked.pop(), weights)
    assert untracked == seen


def test_without_validation_steps_per_epoch_ends_each_epoch_and_the_run_end_the_last(
    registry,
) -> None:
    with mlops.start_run("no-val") as run:
        seen = train(mlops.watch_loss(nn.MSELoss(), steps_per_epoch=4), epochs=3, validate=False)
    seen.pop()
    detail = mlops.get_run(run.id)
    assert [v for _, v in detail.series["train_loss"]] == pytest.approx([t for t, _ in seen])
    assert "val_loss" not in detail.run.metrics


def test_the_last_validation_is_logged_when_the_run_ends(registry) -> None:
    loss_fn = mlops.watch_loss(nn.L1Loss(), name="mae")
    with mlops.start_run("ends") as run:
        seen = train(loss_fn, epochs=2)
    seen.pop()
    detail = mlops.get_run(run.id)
    assert detail.run.metrics["val_mae"] == pytest.approx(seen[-1][1])
    assert len(detail.series["val_mae"]) == 2

    # the same module in a later run counts its epochs from 0 again
    with mlops.start_run("again") as later:
        train(loss_fn, epochs=1)
    assert mlops.metrics(later.id, "train_mae")["step"].tolist() == [0]
    assert mlops.metrics(later.id, "val_mae")["step"].tolist() == [0]


def test_a_watched_loss_with_no_run_active_computes_as_ever(registry) -> None:
    loss_fn = mlops.watch_loss(nn.MSELoss())
    seen = train(loss_fn, epochs=1)
    assert seen[0][0] > 0
    assert mlops.runs().empty


@pytest.mark.parametrize(
    ("loss", "options", "match"),
    [
        (lambda a, b: (a - b).abs().mean(), {}, "needs a PyTorch loss module, not function"),
        (nn.MSELoss(), {"steps_per_epoch": 0}, "not a positive whole number"),
        (nn.MSELoss(), {"steps_per_epoch": True}, "not a positive whole number"),
        (nn.MSELoss(), {"name": ""}, "needs a non-empty name"),
        (nn.MSELoss(), {"name": "x" * 300}, "metric name .* is longer than"),
    ],
)
def test_what_cannot_be_watched_is_refused_in_words(loss: Any, options: dict, match: str) -> None:
    with pytest.raises(InvalidInputError, match=match):
        mlops.watch_loss(loss, **options)
