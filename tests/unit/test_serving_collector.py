"""A served process builds its app, then settles the garbage collector (``runtime/serving.py``)."""

import gc
from collections.abc import Iterator

import pytest

from services.runtime.serving import YOUNG_COLLECTION_THRESHOLD, built_then_settled

BUILT: list[object] = []


def make_app() -> object:
    app = object()
    BUILT.append(app)
    return app


@pytest.fixture
def collector() -> Iterator[None]:
    threshold = gc.get_threshold()
    yield
    gc.unfreeze()
    gc.set_threshold(*threshold)


def test_the_app_is_built_then_what_exists_is_frozen_and_young_collections_come_less_often(collector: None) -> None:
    gc.unfreeze()
    build = built_then_settled(f"{__name__}:make_app")
    assert gc.get_freeze_count() == 0 and not BUILT  # nothing happens before uvicorn calls it

    app = build()

    assert [app] == BUILT
    assert gc.get_freeze_count() > 0  # the imports' objects and the app: no collection walks them
    young, middle, oldest = gc.get_threshold()
    assert young == YOUNG_COLLECTION_THRESHOLD > 700
    assert (middle, oldest) == (10, 10)  # CPython's own for the older generations
