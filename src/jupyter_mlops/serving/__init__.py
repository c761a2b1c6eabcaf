"""Serving: registered model versions answering requests on MLServer, the Open Inference
Protocol (V2) server of KServe and Seldon, and every prediction kept in the registry.

    jupyter mlops serve churn@champion --shadow churn@challenger --port 8080

- :mod:`.plan` what is served where (a :class:`ServePlan`), checked before a server starts;
- :mod:`.served_version` the version a reference names, loaded after its hash is checked,
  and swapped for the next one when the alias moves (requests in flight finish on the old);
- :mod:`.inputs` a request's columns checked against the version's input signature;
- :mod:`.prediction_log` predictions written to the registry in batches, off the request path;
- :mod:`.runtime` the MLServer side: the inference runtime and the server (the only module
  that imports ``mlserver``, from the ``serve`` extra);
- :mod:`.process` a server in a process of its own, started and stopped (the ``%mlops serve``
  of a notebook, the tests);
- :mod:`.label_metrics` how well a version did on the rows whose labels came back (accuracy,
  F1, AUC; RMSE, MAE) and :mod:`.comparison` the champion against the challenger on the
  same rows, with a paired test;
- :mod:`.windows` logged predictions cut into windows of time, each judged for drift,
  latency, live metrics and fairness;
- :mod:`.monitoring` the monitor of a served model (``jupyter mlops monitor``): the log as
  rows (:mod:`.live_rows`), its windows judged and stored (:mod:`.window_store`), and the
  retraining a window's decision starts (:mod:`.retraining`).
"""
