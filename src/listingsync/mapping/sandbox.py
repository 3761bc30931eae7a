"""The Jinja sandbox mapping templates run in, with limits on what one evaluation may cost.

Jinja's ``ImmutableSandboxedEnvironment`` keeps templates away from Python internals, but not from
exhausting the machine: ``{{ 'A' * 5000000000 }}`` asks for 5 GB (and Jinja would even fold that
constant while compiling, at config load), and two nested ``range(100000)`` loops run 10^10 times.
Here, per evaluation of one template for one record:

* a value a template makes (``*``, ``+``, ``%``, ``**``, ``ljust``/``center``/``format``/``replace``
  … and the ``center``/``indent``/``format``/``replace`` filters) is checked *before* it is made:
  at most :data:`MAX_VALUE_SIZE` characters or items, and integer powers of at most
  :data:`MAX_POWER_BITS` bits. Operators checked here are never folded at compile time;
* all ``for`` loops together run at most :data:`MAX_ITERATIONS` times, for at most
  :data:`MAX_SECONDS` seconds (checked on every iteration);
* the rendered text is at most :data:`MAX_OUTPUT` characters.

Breaking a limit raises :class:`TemplateLimit`, which the caller reports with the attribute and SKU.
"""

from __future__ import annotations

import contextvars
import re
import time
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from jinja2 import Template, nodes, pass_eval_context
from jinja2.compiler import CodeGenerator, Frame
from jinja2.exceptions import SecurityError
from jinja2.filters import do_center, do_format, do_indent, do_replace
from jinja2.nodes import EvalContext
from jinja2.runtime import Context
from jinja2.sandbox import ImmutableSandboxedEnvironment

__all__ = [
    "MAX_ITERATIONS",
    "MAX_OUTPUT",
    "MAX_POWER_BITS",
    "MAX_SECONDS",
    "MAX_VALUE_SIZE",
    "LimitedSandbox",
    "TemplateLimit",
    "render",
]

MAX_VALUE_SIZE = 1_000_000
MAX_OUTPUT = 1_000_000
MAX_POWER_BITS = 100_000
MAX_ITERATIONS = 100_000
MAX_SECONDS = 2.0

_BIG_NUMBER = re.compile(r"\d{7,}")  # a width or precision of a million or more in a format string
_SIZED_STR_METHODS = frozenset({"center", "ljust", "rjust", "zfill", "expandtabs", "format", "replace"})


class TemplateLimit(SecurityError):
    """A template went over one of this module's limits."""


def _too_big(size: int, what: str) -> TemplateLimit:
    return TemplateLimit(
        f"it would make {what} of {size:,} characters or items; a template may make at most "
        f"{MAX_VALUE_SIZE:,}"
    )


#: The budget's clock; a seam so tests decide which limit is reached first, whatever the machine's load.
_clock = time.monotonic


class _Budget:
    """Loop iterations and time left for one evaluation."""

    def __init__(self) -> None:
        self.iterations = 0
        self.deadline = _clock() + MAX_SECONDS

    def spend(self) -> None:
        self.iterations += 1
        if self.iterations > MAX_ITERATIONS:
            raise TemplateLimit(f"its loops ran more than {MAX_ITERATIONS:,} times")
        if _clock() > self.deadline:
            raise TemplateLimit(f"it ran longer than {MAX_SECONDS:g} s")


_BUDGET: contextvars.ContextVar[_Budget | None] = contextvars.ContextVar("template_budget", default=None)


def _counted(iterable: Iterable[Any]) -> Iterator[Any]:
    """Every ``for`` loop iterates through this (see :class:`_CountingCodeGenerator`)."""
    budget = _BUDGET.get()
    if budget is None:  # a template rendered outside render(): a budget for this loop alone
        budget = _Budget()
    for item in iterable:
        budget.spend()
        yield item


class _CountingCodeGenerator(CodeGenerator):
    """Jinja's code generator, with each ``for`` loop's iterable passed through :func:`_counted`."""

    def visit_Template(self, node: nodes.Template, frame: Frame | None = None) -> None:
        # Rewritten before any code is written: the generator collects the filters a template uses
        # first, and "_counted" must be among them.
        for loop in list(node.find_all(nodes.For)):
            loop.iter = nodes.Filter(loop.iter, "_counted", [], [], None, None, lineno=loop.lineno)
        super().visit_Template(node, frame)


def _size(value: Any) -> int | None:
    return len(value) if isinstance(value, str | bytes | list | tuple) else None


def _check_binop(op: str, left: Any, right: Any) -> None:
    if op == "*":
        for seq, times in ((left, right), (right, left)):
            length = _size(seq)
            if length is not None and isinstance(times, int) and length * times > MAX_VALUE_SIZE:
                raise _too_big(length * times, "a value")
    elif op == "+":
        left_size, right_size = _size(left), _size(right)
        if left_size is not None and right_size is not None and left_size + right_size > MAX_VALUE_SIZE:
            raise _too_big(left_size + right_size, "a value")
    elif op == "**":
        if isinstance(left, int) and isinstance(right, int) and right > 0:
            bits = max(abs(left).bit_length(), 1) * right
            if bits > MAX_POWER_BITS:
                raise TemplateLimit(f"it would compute a number of about {bits:,} bits")
    elif op == "%" and isinstance(left, str):
        _check_format(left, right if isinstance(right, tuple) else (right,))


def _check_format(template: str, args: Iterable[Any]) -> None:
    """``'%*s' % (10**9, '')``, ``'{:>999999999}'.format(1)``: widths that make huge strings."""
    if _BIG_NUMBER.search(template) or any(
        isinstance(a, int) and not isinstance(a, bool) and a > MAX_VALUE_SIZE for a in args
    ):
        raise TemplateLimit(f"its format asks for a width of more than {MAX_VALUE_SIZE:,} characters")


def _check_str_call(text: str, name: str, args: tuple[Any, ...], kwargs: Mapping[str, Any]) -> None:
    values = (*args, *kwargs.values())
    if name == "format":
        _check_format(text, values)
    elif name == "replace":
        old = args[0] if args else kwargs.get("old", "")
        new = args[1] if len(args) > 1 else kwargs.get("new", "")
        if isinstance(old, str) and isinstance(new, str):
            count = len(text) + 1 if old == "" else text.count(old)
            size = len(text) + count * max(len(new) - len(old), 0)
            if size > MAX_VALUE_SIZE:
                raise _too_big(size, "a text")
    elif any(isinstance(v, int) and v > MAX_VALUE_SIZE for v in values):  # ljust(10**9), zfill …
        raise _too_big(max(v for v in values if isinstance(v, int)), "a text")


def _center(value: Any, width: int = 80) -> str:
    if isinstance(width, int) and width > MAX_VALUE_SIZE:
        raise _too_big(width, "a text")
    return do_center(value, width)


def _indent(value: Any, width: int | str = 4, first: bool = False, blank: bool = False) -> str:
    text = str(value)
    size = len(text) + (text.count("\n") + 1) * (len(width) if isinstance(width, str) else width)
    if size > MAX_VALUE_SIZE:
        raise _too_big(size, "a text")
    return do_indent(text, width, first, blank)


def _format(value: Any, *args: Any, **kwargs: Any) -> str:
    _check_format(str(value), (*args, *kwargs.values()))
    return do_format(value, *args, **kwargs)


@pass_eval_context
def _replace(eval_ctx: EvalContext, value: Any, old: Any, new: Any, count: int | None = None) -> str:
    _check_str_call(str(value), "replace", (str(old), str(new)), {})
    return str(do_replace(eval_ctx, value, old, new, count))


class LimitedSandbox(ImmutableSandboxedEnvironment):
    """The immutable sandbox with the limits above."""

    code_generator_class = _CountingCodeGenerator
    intercepted_binops = frozenset({"*", "+", "%", "**"})

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self.filters.update(
            _counted=_counted, center=_center, indent=_indent, format=_format, replace=_replace
        )

    def call_binop(self, context: Context, operator_: str, left: Any, right: Any) -> Any:
        _check_binop(operator_, left, right)
        return super().call_binop(context, operator_, left, right)

    def call(__self, __context: Context, __obj: Any, *args: Any, **kwargs: Any) -> Any:
        target = getattr(__obj, "__wrapped__", __obj)  # the sandbox wraps str.format
        owner = getattr(target, "__self__", None)
        if isinstance(owner, str) and getattr(target, "__name__", "") in _SIZED_STR_METHODS:
            _check_str_call(owner, target.__name__, args, kwargs)
        return super().call(__context, __obj, *args, **kwargs)


def render(template: Template, variables: Mapping[str, Any]) -> str:
    """``template.render(**variables)`` within the loop, time and output limits."""
    token = _BUDGET.set(_Budget())
    try:
        parts: list[str] = []
        size = 0
        for chunk in template.generate(**variables):
            size += len(chunk)
            if size > MAX_OUTPUT:
                raise TemplateLimit(f"its output would pass {MAX_OUTPUT:,} characters")
            parts.append(chunk)
        return "".join(parts)
    finally:
        _BUDGET.reset(token)
