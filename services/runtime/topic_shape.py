"""A consumer group takes a topic's new partitions on the embedded broker too.

Why: after a restart of the memory-only broker, a client can name a topic before the launcher
provisions it; Tansu then makes it with too few partitions, and the launcher deletes and makes it
again with the catalogue's (``provisioning.provision_topics(remake_misshapen=True)``). A consumer that
learns the new shape (``kafka.on_broker_replaced``) rejoins its group, as aiokafka does on any change of
its topics' partitions. Apache Kafka then runs a new assignment; Tansu 0.6 does not: a member that
rejoins a formed group with the same member metadata gets the formed group back, and the leader's
new assignment is dropped (``Inner<Formed>::join``, ``tansu-broker/src/coordinator/group/administrator.rs``).
``make chaos`` caught it: an order on partition 9 of a remade bank topic that the bank's group, still
holding the made-up topic's partitions, never read.

So each member's metadata says how many partitions it sees of each topic it subscribes to: when that
changes the metadata changes, and Tansu forms the group again, with the leader's new assignment. The
protocol stays ``roundrobin``, whose assignment ignores the member's data, so members of an older
version still agree with these.
"""

from collections.abc import Iterable

from aiokafka.cluster import ClusterMetadata
from aiokafka.coordinator.assignors.roundrobin import RoundRobinPartitionAssignor
from aiokafka.coordinator.protocol import ConsumerProtocolMemberMetadata


class TopicShapeAssignor(RoundRobinPartitionAssignor):  # type: ignore[misc]  # aiokafka is untyped
    """One per consumer, told the consumer's own view of the cluster once it exists (``watch``): the
    rejoin follows an update of that view, so the metadata it sends is the new one."""

    def __init__(self) -> None:
        self.cluster: ClusterMetadata | None = None

    def watch(self, cluster: ClusterMetadata) -> None:
        self.cluster = cluster

    def metadata(self, topics: Iterable[str]) -> ConsumerProtocolMemberMetadata:
        topics = list(topics)
        return ConsumerProtocolMemberMetadata(self.version, topics, self.shape(topics))

    def shape(self, topics: Iterable[str]) -> bytes:
        """``topic=count`` for each topic, sorted; empty until the consumer's view is known."""
        if self.cluster is None:
            return b""
        counts = (f"{topic}={len(self.cluster.partitions_for_topic(topic) or ())}" for topic in sorted(topics))
        return ",".join(counts).encode()
