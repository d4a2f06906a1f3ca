"""The import layering, read from the source: every import points down, never up or sideways.

A layer is a tuple of units (a package or a module, dotted). A module belongs to the unit with
the longest matching name; it may import its own unit and any unit of a lower layer. Imports
inside functions and under ``TYPE_CHECKING`` count: they are dependencies all the same.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("voicebot", "api")

LAYERS: tuple[tuple[str, tuple[str, ...]], ...] = (
    # The ground floor imports nothing of the project. ``voicebot`` is the root package's
    # own ``__init__`` only (see _unit_of).
    ("ground floor", ("voicebot", "voicebot.domain", "voicebot.data")),  # data: shipped files
    ("call vocabulary", ("voicebot.events", "voicebot.actions")),
    ("foundations", ("voicebot.audio", "voicebot.language")),
    # Independent of each other: the engine joins them.
    (
        "call components",
        (
            "voicebot.telephony",
            "voicebot.messaging",  # text channels: Twilio Messaging, a log-only channel
            "voicebot.speech",
            "voicebot.dialog",
        ),
    ),
    ("storage", ("voicebot.storage",)),
    (
        "business rules",
        (
            "voicebot.campaigns",
            "voicebot.webhooks",
            "voicebot.recording",
        ),
    ),
    # After the call: payment links, texts judged by the campaigns' compliance, payments.
    ("follow-ups", ("voicebot.followups",)),
    ("engine", ("voicebot.engine",)),
    # Only the composition root and the entry points read settings.
    ("settings", ("voicebot.config",)),
    # Runs a whole campaign (dialer, storage, speech); the composition root builds its voice.
    ("demo", ("voicebot.demo",)),
    (
        "composition",
        (
            "voicebot.wiring",
            "voicebot.storage.migrations",  # Alembic's entry point
        ),
    ),
    ("http api", ("api",)),
    ("command line", ("voicebot.cli",)),
)


@dataclass(frozen=True, slots=True)
class Violation:
    importer: str
    imported: str
    importer_layer: str
    imported_layer: str

    def __str__(self) -> str:
        return (
            f"{self.importer} ({self.importer_layer}) imports {self.imported} "
            f"({self.imported_layer}): not a lower layer"
        )


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _project_modules() -> dict[str, Path]:
    modules: dict[str, Path] = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            modules[_module_name(path)] = path
    return modules


def _imports(module: str, path: Path, known: Iterable[str]) -> set[str]:
    """The project modules ``module`` imports, resolved to the most specific known module."""
    known = set(known)
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                base = ".".join([*anchor, base] if base else anchor)
            targets = [f"{base}.{alias.name}" for alias in node.names] + [base]
            targets = [t for t in targets if t in known] or [base]
        else:
            continue
        found.update(t for t in targets if t.split(".")[0] in PACKAGES and t != module)
    return found


def _unit_of(module: str, layers: tuple[tuple[str, tuple[str, ...]], ...]) -> tuple[int, str]:
    """(layer index, unit) of the unit with the longest name covering ``module``."""
    best: tuple[int, str] | None = None
    for index, (_, units) in enumerate(layers):
        for unit in units:
            # The root package ``voicebot`` covers its own __init__, not the whole tree: a
            # module missing from the table must fail, not land on the ground floor.
            covers = module == unit or (unit != "voicebot" and module.startswith(unit + "."))
            if covers and (best is None or len(unit) > len(best[1])):
                best = (index, unit)
    if best is None:
        raise LookupError(f"{module} belongs to no layer: add it to LAYERS")
    return best


def violations(
    graph: Mapping[str, Iterable[str]],
    layers: tuple[tuple[str, tuple[str, ...]], ...] = LAYERS,
) -> list[Violation]:
    """Every import in ``graph`` (importer → imported modules) that does not point down."""
    found: list[Violation] = []
    for importer, imported_modules in sorted(graph.items()):
        level, unit = _unit_of(importer, layers)
        for imported in sorted(imported_modules):
            target_level, target_unit = _unit_of(imported, layers)
            if target_unit != unit and target_level >= level:
                found.append(
                    Violation(importer, imported, layers[level][0], layers[target_level][0])
                )
    return found


def _project_graph() -> dict[str, set[str]]:
    modules = _project_modules()
    return {module: _imports(module, path, modules) for module, path in modules.items()}


def test_every_import_points_to_a_lower_layer() -> None:
    problems = violations(_project_graph())
    assert not problems, "imports that run up or sideways:\n" + "\n".join(map(str, problems))


def test_the_ground_floor_imports_nothing_of_the_project() -> None:
    graph = _project_graph()
    ground = {m: deps for m, deps in graph.items() if _unit_of(m, LAYERS)[0] == 0}
    assert "voicebot.domain.outcome" in ground and "voicebot.domain.pcm" in ground
    assert {m: deps for m, deps in ground.items() if deps} == {}


def test_every_unit_in_the_table_exists() -> None:
    modules = _project_modules()
    stale = [
        unit
        for _, units in LAYERS
        for unit in units
        if not any(m == unit or m.startswith(unit + ".") for m in modules)
    ]
    assert stale == []


def test_a_violation_names_both_modules_and_their_layers() -> None:
    graph = {
        "voicebot.telephony.carrier": {"voicebot.dialog.plan", "voicebot.domain.outcome"},
        "voicebot.speech.keywords": {"voicebot.dialog.prompts"},
        "voicebot.dialog.machine": {"voicebot.dialog.plan"},
    }
    assert [str(v) for v in violations(graph)] == [
        "voicebot.speech.keywords (call components) imports voicebot.dialog.prompts "
        "(call components): not a lower layer",
        "voicebot.telephony.carrier (call components) imports voicebot.dialog.plan "
        "(call components): not a lower layer",
    ]
    upward = violations({"voicebot.domain.pcm": {"voicebot.engine.dialer"}})
    assert [(v.importer_layer, v.imported_layer) for v in upward] == [("ground floor", "engine")]


def test_a_module_outside_the_table_is_reported() -> None:
    with pytest.raises(LookupError, match=r"voicebot\.newpackage\.thing belongs to no layer"):
        violations({"voicebot.newpackage.thing": set()})
