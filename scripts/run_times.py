"""Shared by the table scripts: a run's training time from its train.jsonl."""
import json
import statistics


def train_seconds(run):
    """Training time (no evaluation): the median iteration time times the iterations, so that
    neither a resume nor other work on the machine distorts it."""
    per_iter = {}
    for line in open(f"{run}/train.jsonl"):
        r = json.loads(line)
        if "seconds" in r:
            per_iter[r["iter"]] = r["seconds"]
    return statistics.median(per_iter.values()) * max(per_iter)
