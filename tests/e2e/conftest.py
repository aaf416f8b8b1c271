
import pytest

from harness import LocalProduct


@pytest.fixture(scope="session")
def product():
    # Short polling bounds so a run of a few seconds is followed through several loop turns.
    with LocalProduct({"POLYSYNC_POLL_MIN_SECONDS": "1", "POLYSYNC_POLL_MAX_SECONDS": "2"}) as local:
        yield local


@pytest.fixture(scope="session")
def product_with_platform_defaults():
    # A platform that sizes every run G.2X × 5 unless the job's kind cannot take it.
    with LocalProduct({"POLYSYNC_POLL_MIN_SECONDS": "1", "POLYSYNC_POLL_MAX_SECONDS": "2",
                       "POLYSYNC_GLUE_WORKER_TYPE": "G.2X", "POLYSYNC_GLUE_NUMBER_OF_WORKERS": "5"}) as local:
        yield local
