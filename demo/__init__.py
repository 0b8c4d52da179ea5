"""`review-queue demo`: the service, a scraper worker and an NLP worker in one process.

A package of its own, apart from `service/`: it is the one place that imports the worker
packages beside the service, so the service installs and runs without them (`service/cli.py`
imports this package only inside the `demo` command).
"""

from demo.run import DEMO_APPS, UNKNOWN_APP, DemoOptions, run_demo

__all__ = ["DEMO_APPS", "UNKNOWN_APP", "DemoOptions", "run_demo"]
