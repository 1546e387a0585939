"""The one place that wires Hotline's components into processes, a module per process.

- `api`: the CRM's FastAPI app (tickets, lifecycle, transfers, supervisor API);
- `agi`: the FastAGI service (routes, the CRM client, the UIN stock, AMI for agents);
- `tracker`: the tracker, and the recorder beside it by default;
- `worker`: the ticket lifecycle worker.

`hotline crm|agi|tracker|worker|run`, the demo and the tests' rigs all build from here.
"""

from hotline.bootstrap.api import app_from_environment, confirmation_tokens, create_app
from hotline.bootstrap.worker import create_worker, run_worker

__all__ = [
    "app_from_environment",
    "confirmation_tokens",
    "create_app",
    "create_worker",
    "run_worker",
]
