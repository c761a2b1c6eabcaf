"""Tracking: runs, what they record, and reading them back.

    import jupyter_mlops as mlops

    with mlops.start_run("baseline", experiment="churn") as run:
        run.log_params(lr=0.1, depth=6)
        for epoch in range(10):
            mlops.log(loss=train_one_epoch(), step=epoch)
        mlops.log(accuracy=model.score(X_test, y_test))

Modules: :mod:`.session` (which registry this process records into, the active runs),
:mod:`.run` (a run's buffer, flushes and end), :mod:`.previews` and
:mod:`.preview_buckets` (what a long curve is drawn from), :mod:`.values` (what may be recorded),
:mod:`.secrets` (what is recorded redacted: secrets in parameters, tags and code),
:mod:`.shared_rows` (experiments and environments), :mod:`.background` (live
flushes, system metrics and heartbeats of active runs; :mod:`.system_metrics`,
:mod:`.settings`),
:mod:`.expressions` (the filter and rule language), :mod:`.capture` (what a run records
without being asked), :mod:`.queries` (runs read back), :mod:`.housekeeping` and
:mod:`.purge` (runs noted, renamed, retagged, moved, archived or deleted after the fact;
:mod:`.housekeeping_api` is their public face on ``jupyter_mlops``) and
:mod:`.formatting` (how values read as text, for every face).
"""
