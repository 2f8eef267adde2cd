"""Every public function, class, method and property of ``neuroplastic`` carries a docstring."""

import importlib
import inspect
import pkgutil

import neuroplastic


def _modules():
    yield neuroplastic
    for info in pkgutil.walk_packages(neuroplastic.__path__, prefix="neuroplastic."):
        if not info.name.endswith(".__main__"):  # importing it runs the command
            yield importlib.import_module(info.name)


def _public(name):
    return not name.startswith("_")


def _missing_in_class(cls, qualname):
    for name, member in vars(cls).items():
        if not _public(name):
            continue
        if isinstance(member, (staticmethod, classmethod)):
            member = member.__func__
        if isinstance(member, property):
            if not member.__doc__:
                yield f"{qualname}.{name}"
            continue
        if inspect.isfunction(member) and not inspect.getdoc(member):
            yield f"{qualname}.{name}"


def undocumented():
    """Qualified names of public objects defined in neuroplastic (not imported into it) without a docstring."""
    missing = set()
    for module in _modules():
        for name, obj in vars(module).items():
            if not _public(name) or getattr(obj, "__module__", None) != module.__name__:
                continue
            qualname = f"{module.__name__}.{name}"
            if inspect.isclass(obj):
                if obj.__doc__ is None or not obj.__doc__.strip():
                    missing.add(qualname)
                missing.update(_missing_in_class(obj, qualname))
            elif inspect.isfunction(obj) and not inspect.getdoc(obj):
                missing.add(qualname)
    return sorted(missing)


def test_every_public_function_class_and_method_has_a_docstring():
    assert undocumented() == []


def test_the_check_finds_an_undocumented_function(monkeypatch):
    import neuroplastic.core.seeding as seeding

    def make_noise():
        return 0

    class Quiet:
        def speak(self):
            return None

        volume = property(lambda self: 0)

    make_noise.__module__ = Quiet.__module__ = seeding.__name__
    monkeypatch.setattr(seeding, "make_noise", make_noise, raising=False)
    monkeypatch.setattr(seeding, "Quiet", Quiet, raising=False)
    assert {"neuroplastic.core.seeding.make_noise", "neuroplastic.core.seeding.Quiet"} <= set(undocumented())
    assert {"neuroplastic.core.seeding.Quiet.speak", "neuroplastic.core.seeding.Quiet.volume"} <= set(undocumented())
