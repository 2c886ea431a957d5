"""A member's metadata changes with the topics' shape it sees, and the assignment stays roundrobin."""

from aiokafka import AIOKafkaConsumer
from aiokafka.coordinator.assignors.roundrobin import RoundRobinPartitionAssignor

from services.runtime.topic_shape import TopicShapeAssignor


class Cluster:
    """What the assignor reads of aiokafka's ``ClusterMetadata``."""

    def __init__(self, partitions: dict[str, int]) -> None:
        self.partitions = partitions

    def partitions_for_topic(self, topic: str) -> set[int] | None:
        count = self.partitions.get(topic)
        return None if count is None else set(range(count))


def test_the_metadata_says_each_topics_partition_count_once_the_consumers_view_is_known() -> None:
    assignor = TopicShapeAssignor()
    assert assignor.metadata(["b.v1", "a.v1"]).user_data == b""  # before the consumer started

    cluster = Cluster({"a.v1": 1, "b.v1": 12})
    assignor.watch(cluster)  # type: ignore[arg-type]
    before = assignor.metadata(["b.v1", "a.v1"])
    assert (before.subscription, before.user_data) == (["b.v1", "a.v1"], b"a.v1=1,b.v1=12")

    cluster.partitions["a.v1"] = 12  # the topic remade with the catalogue's partitions
    after = assignor.metadata(["b.v1", "a.v1"])
    assert after.user_data == b"a.v1=12,b.v1=12"
    assert after.encode() != before.encode()  # what Tansu compares to form the group again

    del cluster.partitions["a.v1"]  # a broker that does not have it (yet)
    assert assignor.metadata(["a.v1"]).user_data == b"a.v1=0"


def test_it_is_roundrobin_for_the_group_so_members_without_it_agree() -> None:
    assert TopicShapeAssignor.name == RoundRobinPartitionAssignor.name == "roundrobin"
    assert TopicShapeAssignor.assign.__func__ is RoundRobinPartitionAssignor.assign.__func__  # type: ignore[attr-defined]


async def test_the_aiokafka_names_it_relies_on_are_there() -> None:
    """aiokafka is pinned; these private names are how ``kafka.start_consuming`` binds the assignor
    and ``kafka.on_broker_replaced`` asks for metadata: an upgrade that renames them fails here (that
    the coordinator asks the instance for the member's metadata, ``test_broker_replaced.py`` shows)."""
    assignor = TopicShapeAssignor()
    consumer = AIOKafkaConsumer("a.v1", bootstrap_servers="127.0.0.1:1", partition_assignment_strategy=(assignor,))
    assert consumer._partition_assignment_strategy == (assignor,)
    assert callable(consumer._client.force_metadata_update)
    assert hasattr(consumer._client, "cluster")
    await consumer.stop()
