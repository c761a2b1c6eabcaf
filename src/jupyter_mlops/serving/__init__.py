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
  of a notebook, the tests).
"""
