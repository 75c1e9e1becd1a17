"""A two-node Ray cluster on this machine, driven over stdin (run as a script by a test).

The head node has no CPUs, so every plugin actor lands on a worker node. Commands, one a
line: ``kill`` (SIGKILL the worker node: raylet and actors), ``add`` (start a new worker
node), ``exit``. Each answer is one JSON line: the cluster's address and its worker nodes
(node id → raylet pid).
"""

from __future__ import annotations

import json
import sys
from typing import Any

from ray.cluster_utils import Cluster

#: Node deaths are noticed within about a second instead of Ray's default ~30 s.
_FAST_FAILURE_DETECTION = {
    "health_check_initial_delay_ms": 0,
    "health_check_period_ms": 200,
    "health_check_timeout_ms": 500,
    "health_check_failure_threshold": 3,
}


def _describe(cluster: Cluster, workers: list[Any]) -> str:
    nodes = {node.node_id: node.all_processes["raylet"][0].process.pid for node in workers}
    return json.dumps({"address": cluster.address, "workers": nodes})


def main() -> None:
    cluster = Cluster(
        initialize_head=True,
        head_node_args={
            "num_cpus": 0,
            "include_dashboard": False,
            "_system_config": _FAST_FAILURE_DETECTION,
        },
    )
    workers = [cluster.add_node(num_cpus=2, object_store_memory=80 * 1024 * 1024)]
    cluster.wait_for_nodes()
    print(_describe(cluster, workers), flush=True)
    for line in sys.stdin:
        command = line.strip()
        if command == "kill":
            cluster.remove_node(workers.pop(), allow_graceful=False)
        elif command == "add":
            workers.append(cluster.add_node(num_cpus=2, object_store_memory=80 * 1024 * 1024))
            cluster.wait_for_nodes()
        elif command == "exit":
            break
        print(_describe(cluster, workers), flush=True)
    cluster.shutdown()


if __name__ == "__main__":
    main()
