"""The ``dailypapers`` console script: a calendar skip answers before the command line loads.

A plain ``dailypapers update`` (only the options :func:`update_options`
reads: ``--config``, ``--wait``, ``--source``) is first offered to
:func:`dailypapers.quickskip.quick_skip`, which decides a day arXiv's
calendar skips from the last complete update's stamp, without click or the
config's models. It prints, writes and exits as the command line would.
Anything else, and every case the stamp cannot vouch for, runs
:func:`dailypapers.cli.main` as always.
"""

from __future__ import annotations

import atexit
import contextlib
import gc
import importlib
import os
import re
import sys
import threading
import types
from collections.abc import Callable, Sequence
from importlib.machinery import ModuleSpec
from typing import TYPE_CHECKING, Any, NoReturn, TextIO, cast

from dailypapers.errors import (
    EXIT_CLOSED_OUTPUT,
    closed_output,
    full_disk,
    lost_connection,
    silence_closed_output,
    unexpected,
)
from dailypapers.names import MAX_SECONDS, SOURCES

if TYPE_CHECKING:
    from importlib.abc import Loader

DEFAULT_WAIT = 60.0  # `update --wait`'s default (a test checks it is the CLI's)
EXIT_FAILED = 1
_VALUES: dict[str, Callable[[str], bool]] = {
    "--config": lambda value: bool(value) and not value.startswith("-"),
    "--wait": lambda value: (
        re.fullmatch(r"[0-9]+(\.[0-9]+)?", value) is not None and float(value) <= MAX_SECONDS
    ),  # what click's Seconds takes; anything else is click's to refuse
    "--source": lambda value: value in SOURCES,
}


def main() -> None:
    """Console-script entry point."""
    leave_objects_at_exit()
    options = update_options(sys.argv[1:])
    if options is None or not _skipped(options):
        from dailypapers.cli import main as cli

        without_httpx_command_line()
        asyncio_on_first_use()
        without_pydantic_plugins()
        cli()


def leave_objects_at_exit() -> None:
    """Let the process end without Python's last garbage collection.

    Once a command is done, the interpreter's shutdown tears down every module
    and collects the cycles among their objects (SQLAlchemy's, pydantic's): a
    tenth of a second of wall time after a 20-topic update, spent after its
    work is published and its store closed. :func:`gc.freeze` at exit (an
    ``atexit`` handler, registered before the command's modules load theirs,
    so it runs after them) moves every object out of the collector's reach:
    the shutdown frees what reference counts free and leaves the rest to the
    system, as it does with any process's memory. Files and connections are
    closed by the code that opened them (``with`` blocks), never by a
    collection (a write-buffered file left to the collector would lose its
    buffer: keep it that way); the other ``atexit`` handlers still run, and Python flushes
    the standard streams as before. Only the console script does this:
    importing dailypapers as a library changes nothing.
    """
    atexit.register(gc.freeze)


def without_httpx_command_line() -> None:
    """Keep ``import httpx`` from loading httpx's own command line in this process.

    httpx's ``__init__`` imports ``httpx._main`` (the ``httpx`` console
    script: rich's progress bars and syntax highlighting, pygments' lexers)
    whenever those are installed, and they are (rich is ours); dailypapers
    never runs it. A stand-in takes its place; its ``main`` loads the real
    one if anything ever calls ``httpx.main``. Only the console script does
    this: importing dailypapers as a library changes nothing.
    """
    if "httpx" in sys.modules or "httpx._main" in sys.modules:
        return
    stand_in = types.ModuleType("httpx._main", "Stand-in: dailypapers.entry")
    stand_in.__dict__["main"] = _httpx_main
    sys.modules["httpx._main"] = stand_in


def without_pydantic_plugins() -> None:
    """Spare pydantic its search for plugins, unless the environment says otherwise.

    The first model pydantic builds looks for plugins (tools that observe
    validation, logfire's for one) in the entry points of every installed
    distribution: ``importlib.metadata`` reads each one's metadata, so the
    cost grows with the environment (about 20 ms and 0.25 MB of a 20-topic
    update in this project's own, of 90 distributions). dailypapers'
    models validate its configuration only. ``PYDANTIC_DISABLE_PLUGINS`` is
    pydantic's own switch, set here only when the environment does not set
    it: ``PYDANTIC_DISABLE_PLUGINS=0`` (or empty) keeps the plugins. Only the
    console script does this: importing dailypapers as a library changes
    nothing. A process the command starts inherits the setting (a browser
    for ``serve --open``, a forked render: none loads pydantic's plugins).
    """
    os.environ.setdefault("PYDANTIC_DISABLE_PLUGINS", "__all__")


def _httpx_main(*args: Any, **kwargs: Any) -> Any:
    """httpx's command line, loaded on first call."""
    del sys.modules["httpx._main"]
    from httpx._main import main as real

    return real(*args, **kwargs)


def asyncio_on_first_use() -> None:
    """Let ``import asyncio`` load asyncio only when something of it is used.

    SQLAlchemy 2.1's ``sqlalchemy.util`` imports asyncio at module level for
    its asyncio extension, and binds one function of it (``iscoroutine``):
    29 modules, 1.5 MB of a 20-topic update's peak memory (69.1 -> 67.6 MB,
    ``bench/cold_start.py``) and 20-odd milliseconds of start-up, for
    what only the summaries' and the embeddings' requests use (and
    SQLAlchemy's handling of a database error reads): they load it then. A
    stand-in takes its place in ``sys.modules``: the first attribute read
    from it (anything but the module's identity) imports the real asyncio,
    which then replaces it, and the stand-in passes every read and write on
    to it. ``iscoroutine`` is a function that does the same when called.
    A first use that imports a submodule (``import asyncio.events``, ``from
    asyncio.exceptions import ...``, as another library may) reads the
    stand-in's ``__path__``, which loads asyncio, whose ``__init__`` runs
    that submodule; Python would then run it a second time, and its classes
    would be two. :class:`_RunBy` hands Python the module already run.
    The standard library's :class:`importlib.util.LazyLoader` would be the
    tool, but on Python 3.11 the ``import`` statement itself reads the
    module's ``__spec__``, which loads it. Only the console script does
    this: importing dailypapers as a library changes nothing.
    """
    if "asyncio" in sys.modules:
        return
    from importlib.util import find_spec

    spec = find_spec("asyncio")
    if spec is None or spec.origin is None:
        return
    sys.meta_path.insert(0, _RunBy("asyncio"))
    sys.modules["asyncio"] = _OnFirstUse(spec)


class _OnFirstUse(types.ModuleType):
    """A module's stand-in that imports the module on first use (:func:`asyncio_on_first_use`)."""

    def __init__(self, spec: ModuleSpec) -> None:
        super().__init__(spec.name, "Stand-in: dailypapers.entry")
        # What the import system and inspect read of any module, answered without loading.
        # No __path__: a submodule's import reads it, which loads the package (then
        # _RunBy gives the import the submodule the package's __init__ ran).
        self.__dict__.update(__spec__=spec, __file__=spec.origin, __loader__=spec.loader)
        self.__dict__.update(_name=spec.name, _lock=threading.Lock())
        self.__dict__["iscoroutine"] = lambda obj: self._real().iscoroutine(obj)

    def _real(self) -> types.ModuleType:
        name = self.__dict__["_name"]
        with self.__dict__["_lock"]:
            if sys.modules.get(name) is self:
                del sys.modules[name]
            return importlib.import_module(name)

    def __getattr__(self, attr: str) -> Any:
        return getattr(self._real(), attr)

    def __setattr__(self, attr: str, value: Any) -> None:
        setattr(self._real(), attr, value)

    def __delattr__(self, attr: str) -> None:
        delattr(self._real(), attr)


class _RunBy:
    """Gives an import of a package's submodule the module its package already ran.

    Python looks for ``asyncio.events`` after reading the package's
    ``__path__``; on the stand-in (:class:`_OnFirstUse`), that read loads
    asyncio, whose ``__init__`` runs ``asyncio.events``, and Python would
    run it again. Found in ``sys.modules`` by then, the module is handed
    over as it is (its own spec kept). Nothing else asks a finder for a
    module that is in ``sys.modules`` but a reload, which passes it as
    ``target`` and is left to the other finders.
    """

    def __init__(self, package: str) -> None:
        self.prefix = package + "."
        self.run: dict[str, tuple[types.ModuleType, ModuleSpec | None]] = {}

    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: types.ModuleType | None = None
    ) -> ModuleSpec | None:
        module = sys.modules.get(fullname) if fullname.startswith(self.prefix) else None
        if module is None or target is not None:
            return None
        self.run[fullname] = (module, getattr(module, "__spec__", None))
        return ModuleSpec(fullname, cast("Loader", self))  # a loader by its two methods

    def create_module(self, spec: ModuleSpec) -> types.ModuleType:
        return self.run[spec.name][0]

    def exec_module(self, module: types.ModuleType) -> None:
        _, spec = self.run.pop(module.__name__)
        module.__spec__ = spec  # module_from_spec set find_spec's in its place


def update_options(args: Sequence[str]) -> dict[str, str] | None:
    """``update``'s options when ``args`` are ``update`` and options the skip reads, else None.

    Each option at most once, as ``--name value`` or ``--name=value``, with a
    value click would take as it is; anything else is for the command line.
    """
    if not args or args[0] != "update":
        return None
    found: dict[str, str] = {}
    rest = list(args[1:])
    while rest:
        name, equals, value = rest.pop(0).partition("=")
        if name not in _VALUES or name in found or (not equals and not rest):
            return None
        value = value if equals else rest.pop(0)
        if not _VALUES[name](value):
            return None
        found[name] = value
    return found


def _skipped(options: dict[str, str]) -> bool:
    """Whether the calendar skip answered (its lines printed), as ``cli.update`` would."""
    from dailypapers.masking import install_log_filter
    from dailypapers.quickskip import PROGRESS, quick_skip
    from dailypapers.runlock import RunFailed

    install_log_filter()  # as the command line's group does, for the lock's message
    wait = float(options.get("--wait", DEFAULT_WAIT))
    try:
        line = quick_skip(
            options.get("--config"), source=options.get("--source"), lock_timeout=wait
        )
    except RunFailed as exc:
        _fail(f"dailypapers: failed: {exc}")
    except KeyboardInterrupt:
        _fail("\ndailypapers: aborted")  # click's Abort: a new line, then the word
    except Exception:  # a doubt the skip did not foresee: the full path decides and reports
        return False
    if line is None:
        return False
    try:
        _say(PROGRESS, sys.stderr)
        _say(line, sys.stdout)
    except OSError as exc:  # a closed pipe: the run is recorded; as cli.Group.invoke ends
        if closed_output(exc):
            silence_closed_output()
            sys.exit(EXIT_CLOSED_OUTPUT)
        _stdout_to_null()
        line = full_disk(exc) or lost_connection(exc)  # stdout into /dev/full: as the CLI says
        _fail(f"dailypapers: failed: {line}" if line else unexpected(exc))
    return True


def _say(text: str, stream: TextIO | None) -> None:
    """One line, as ``click.echo`` writes it: nothing when the stream is closed (``None``)."""
    if stream is not None:
        print(text, file=stream, flush=True)


def _fail(message: str) -> NoReturn:
    with contextlib.suppress(OSError):
        _say(message, sys.stderr)
    sys.exit(EXIT_FAILED)


def _stdout_to_null() -> None:
    """No complaint from Python at exit about a stdout it can no longer flush."""
    if sys.stdout is not None:
        with contextlib.suppress(OSError, ValueError):
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
