"""Gates: rules on a run's metrics, expectations on data and drift checks that decide
whether a model may ship; every evaluation is stored.

Modules: :mod:`.rules` (evaluating the rule language) and :mod:`.rule_names` (what the
names in a rule stand for), :mod:`.expectations` (data expectations), checked on a frame
by :mod:`.frame_checks` or on a stored snapshot's profile by :mod:`.snapshot_checks`,
fairness functions in rules (:mod:`.fairness_functions`, computed with fairlearn by
:mod:`.fairness` on the data :mod:`.fairness_rules` reads, each group's value kept in a
:mod:`.groups` table),
:mod:`.evaluation` (``check`` and ``promote``), :mod:`.records` (evaluations stored and
read back) and :mod:`.verdicts` (each version's latest verdict, for overviews).
"""
