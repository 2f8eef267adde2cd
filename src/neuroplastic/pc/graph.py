"""Predictive coding on any traceable model: ``torch.fx`` finds the PC layers and what each one reads.

The PC layers are chosen submodules (by qualified name or type; default: every leaf module with parameters).
A belief sits at the output of every call of a PC layer; the model's output is layer L (a PC layer's call, or the
operations after the last beliefs when the output is not one). Layer l's prediction f_l is the traced piece of
``forward`` from the beliefs it reads (and the input x) to its output, so skip connections, branches and merges
need no change to the model: a belief read by several layers receives the sum of what they send back.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import fx, nn
from torch.nn import functional as F

from neuroplastic.pc.layers import STOCHASTIC_MODULES, PCLayers

LayerSpec = Sequence[str] | type[nn.Module] | Sequence[type[nn.Module]]

_RANDOM_FUNCTIONS = {
    F.dropout,
    F.dropout1d,
    F.dropout2d,
    F.dropout3d,
    F.alpha_dropout,
    F.feature_alpha_dropout,
    torch.dropout,
    torch.bernoulli,
    torch.rand,
    torch.rand_like,
    torch.randn,
    torch.randn_like,
    torch.randint,
    torch.randint_like,
    torch.randperm,
    torch.normal,
    torch.multinomial,
}
_RANDOM_METHODS = {"bernoulli", "bernoulli_", "uniform_", "normal_", "random_", "exponential_", "geometric_"}


class _Tracer(fx.Tracer):
    """Traces into every module except the PC layers (and torch's own leaf modules)."""

    def __init__(self, pc_names: set[str]):
        super().__init__()
        self.pc_names = pc_names

    def is_leaf_module(self, m: nn.Module, module_qualified_name: str) -> bool:
        return module_qualified_name in self.pc_names or super().is_leaf_module(m, module_qualified_name)


def trace_layers(model: nn.Module, layers: LayerSpec | None = None) -> PCLayers:
    """The PC layers of ``model`` and the beliefs each one reads, found by tracing ``model.forward(x)``.

    ``layers``: qualified submodule names (``["block1.conv1", …]``), a module type or a tuple of types (the
    outermost matching modules), or ``None`` for every leaf module with parameters. ``forward`` must take one
    tensor and return one tensor. A ``forward`` that reads ``self.training`` is traced in the current mode:
    trace again after switching between ``train()`` and ``eval()``.
    """
    pc_names = _select(model, layers)
    try:
        graph = _Tracer(set(pc_names)).trace(model)
    except Exception as err:  # fx raises many types; the user needs one line naming the model
        reason = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise ValueError(
            f"predictive coding could not trace {type(model).__name__}.forward with torch.fx ({reason}); name the "
            "untraceable submodule as a PC layer (layers=[...]) so it is not traced into, or make forward traceable"
        ) from None
    placeholders = [node for node in graph.nodes if node.op == "placeholder"]
    if len(placeholders) != 1:
        raise ValueError(
            f"{type(model).__name__}.forward takes {len(placeholders)} inputs; predictive coding on a traced model "
            "needs forward(x) with one input tensor"
        )
    (output_node,) = [node for node in graph.nodes if node.op == "output"]
    result = output_node.args[0]
    if not isinstance(result, fx.Node):
        raise ValueError(f"{type(model).__name__}.forward must return one tensor, got {type(result).__name__}")
    ancestors = _ancestors(result)
    calls = [node for node in graph.nodes if node.op == "call_module" and node.target in pc_names and node in ancestors]
    if not calls:
        raise ValueError(f"none of the PC layers {sorted(pc_names)} lies on the path from the input to the output")
    targets = [*calls] if result in calls else [*calls, result]
    index = {placeholders[0]: 0, **{node: l for l, node in enumerate(targets[:-1], start=1)}}
    functions, inputs = [], []
    for target in targets:
        function, reads = _piece(model, graph, target, index)
        functions.append(function)
        inputs.append(reads)
    names = [_name(node, calls) for node in targets[:-1]] + [_name(result, calls) if result in calls else "output"]
    stochastic = [_is_stochastic(f) for f in functions]
    return PCLayers(model, functions, inputs, names, stochastic=stochastic)


def _select(model: nn.Module, layers: LayerSpec | None) -> list[str]:
    """Qualified names of the PC layers; nested choices and unknown names are refused."""
    modules = {name: m for name, m in model.named_modules() if name}
    if layers is None:
        chosen = [name for name, m in modules.items() if not list(m.children()) and list(m.parameters(recurse=False))]
        if not chosen:
            raise ValueError(f"{type(model).__name__} has no leaf module with parameters; name its PC layers (layers=)")
        return chosen
    if isinstance(layers, type) or (
        isinstance(layers, Sequence) and layers and all(isinstance(t, type) for t in layers)
    ):
        types = layers if isinstance(layers, type) else tuple(layers)
        matching = [name for name, m in modules.items() if isinstance(m, types)]
        chosen = [name for name in matching if not any(name.startswith(outer + ".") for outer in matching)]
        if not chosen:
            raise ValueError(f"{type(model).__name__} has no submodule of type {types}")
        return chosen
    names = [layers] if isinstance(layers, str) else list(layers)
    unknown = [name for name in names if name not in modules]
    if unknown:
        known = ", ".join(list(modules)[:12]) + (", …" if len(modules) > 12 else "")
        raise ValueError(f"layers names {unknown}, which {type(model).__name__} does not have; its submodules: {known}")
    for name in names:
        outer = [other for other in names if name.startswith(other + ".")]
        if outer:
            raise ValueError(f"layers names {name!r} inside {outer[0]!r}; a PC layer cannot contain another one")
    return names


def _ancestors(node: fx.Node) -> set[fx.Node]:
    seen, stack = {node}, [node]
    while stack:
        for parent in stack.pop().all_input_nodes:
            if parent not in seen:
                seen.add(parent)
                stack.append(parent)
    return seen


def _piece(
    model: nn.Module, graph: fx.Graph, target: fx.Node, index: dict[fx.Node, int]
) -> tuple[fx.GraphModule, tuple[int, ...]]:
    """Layer ``target``'s prediction as a module of the beliefs it reads, and their indices (increasing)."""
    needed, reads, stack = {target}, set(), [target]
    while stack:
        for parent in stack.pop().all_input_nodes:
            if parent in index:
                reads.add(parent)
            elif parent not in needed:
                needed.add(parent)
                stack.append(parent)
    piece = fx.Graph()
    env: dict[fx.Node, fx.Node] = {}
    for node in sorted(reads, key=index.__getitem__):
        env[node] = piece.placeholder(f"v{index[node]}")
        if any(_in_place_on(user, node, model) for user in node.users if user in needed):
            env[node] = piece.call_method("clone", (env[node],))
    for node in graph.nodes:
        if node in needed:
            env[node] = piece.node_copy(node, env.__getitem__)
    piece.output(env[target])
    return fx.GraphModule(model, piece), tuple(sorted(index[node] for node in reads))


def _in_place_on(user: fx.Node, node: fx.Node, model: nn.Module) -> bool:
    """Whether ``user`` overwrites ``node`` (its first argument) in place."""
    if not user.args or user.args[0] is not node:
        return False
    if user.op == "call_module":
        return bool(getattr(model.get_submodule(user.target), "inplace", False))
    if user.op == "call_method":
        return user.target.endswith("_") and not user.target.startswith("_")
    if user.op == "call_function":
        return bool(user.kwargs.get("inplace", False)) or getattr(user.target, "__name__", "").endswith("_")
    return False


def _is_stochastic(function: fx.GraphModule) -> bool:
    """Whether the piece draws random numbers (dropout modules or functions, random tensor methods)."""
    if any(isinstance(m, STOCHASTIC_MODULES) for m in function.modules()):
        return True
    return any(
        (node.op == "call_function" and node.target in _RANDOM_FUNCTIONS)
        or (node.op == "call_method" and node.target in _RANDOM_METHODS)
        for node in function.graph.nodes
    )


def _name(node: fx.Node, calls: list[fx.Node]) -> str:
    """The module's qualified name, with the call's number when the module is called more than once."""
    same = [call for call in calls if call.target == node.target]
    return node.target if len(same) == 1 else f"{node.target} (call {same.index(node) + 1})"
