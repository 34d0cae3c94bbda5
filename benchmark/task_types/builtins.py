"""Importing this module registers every built-in task type (:data:`.base.BUILTIN_MODULES`, the one list of them),
and with them their scorers: the plug-in registry of scorers (:data:`benchmark.core.plugins.SCORERS`) names it, so
the layer below the task types never imports them."""

from .base import load_builtins

load_builtins()
