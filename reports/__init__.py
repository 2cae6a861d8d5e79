"""Reports: ``journey compare`` over corpora and ``journey report`` over eval runs, one page builder."""
