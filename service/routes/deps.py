"""Explicit dependency markers shared by the route modules."""

from litestar.di import NamedDependency

from service.settings import Settings
from service.store import JobStore

StoreDep = NamedDependency[JobStore]
SettingsDep = NamedDependency[Settings]
