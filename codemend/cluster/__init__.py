"""codemend on a Ray cluster (``pip install 'codemend[ray]'``): ``codemend bench --ray``,
``codemend evaluate --ray`` and Ray-side rewards. Ray does the distribution (placement, failure
detection, retries); codemend does the repair loop, the sandbox and the store, whose only writer
stays the driver. Nothing here is imported unless Ray is asked for.
"""

from codemend.cluster.bench import CLUSTER_LOG, RayTrajectories, ray_trajectories
from codemend.cluster.connect import NAMESPACE, check_address, connect, disconnect
from codemend.cluster.limiter import EndpointLimiter, LimitedClient, limiter_for
from codemend.cluster.node import NodeRunner, RunnerConfig
from codemend.cluster.pool import RESOURCE, RunnerPool
from codemend.cluster.sandbox import ClusterSandbox

__all__ = [
    "CLUSTER_LOG",
    "NAMESPACE",
    "RESOURCE",
    "ClusterSandbox",
    "EndpointLimiter",
    "LimitedClient",
    "NodeRunner",
    "RayTrajectories",
    "RunnerConfig",
    "RunnerPool",
    "check_address",
    "connect",
    "disconnect",
    "limiter_for",
    "ray_trajectories",
]
