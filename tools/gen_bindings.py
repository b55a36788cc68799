#!/usr/bin/env python3
"""Generate the bindings' view of the C surface from include/wsclient.h.

The header (written by cbindgen) is the one source of truth for the numbers
and layouts the bindings use: the `#define`d constants (the `WS_DEFAULT_*`
option defaults among them), the enums (ws_status, ws_event_type, ...), and
the field lists of the structs (ws_event, ws_stats, ...) with their C types,
typedefs resolved to the fixed-width type beneath them.

    python3 tools/gen_bindings.py           write the generated files
    python3 tools/gen_bindings.py --check   exit 1 if a committed one differs

The output depends only on names and values, never on the order of the
declarations in the header or on its comments: constants, enums and structs
are written sorted by name (enum members by value). Only the order of a
struct's fields is kept, since that is its layout.

Plain python3, standard library only.
"""

from __future__ import annotations

import argparse
import ast
import json
import re
import sys
from pathlib import Path
from typing import Dict, List, Tuple

ROOT = Path(__file__).resolve().parent.parent
HEADER = ROOT / "include" / "wsclient.h"
PYTHON_OUT = ROOT / "bindings" / "python" / "wsclient" / "_c.py"
NODE_OUT = ROOT / "bindings" / "node" / "lib" / "c.js"

Fields = List[Tuple[str, str]]


class HeaderError(Exception):
    """The header has something this generator does not understand."""


# --- parsing -------------------------------------------------------------------------------------


def _strip(text: str) -> str:
    """The header without comments and without preprocessor lines other than #define."""
    text = re.sub(r"/\*.*?\*/", " ", text, flags=re.S)
    text = re.sub(r"//[^\n]*", " ", text)
    lines = [ln for ln in text.splitlines() if not ln.lstrip().startswith("#") or _is_define(ln)]
    return "\n".join(lines)


def _is_define(line: str) -> bool:
    return re.match(r"\s*#\s*define\s", line) is not None


_ALLOWED = (ast.Expression, ast.BinOp, ast.UnaryOp, ast.Constant, ast.LShift, ast.RShift, ast.BitOr,
            ast.BitAnd, ast.Add, ast.Sub, ast.Mult, ast.USub, ast.UAdd, ast.Invert)


def _eval_int(expr: str, known: Dict[str, int]) -> int:
    """An integer constant expression of the header: literals, other constants, + - * << >> | &."""
    expr = re.sub(r"\(\s*(?:u?int\d+_t|size_t)\s*\)", "", expr.strip())  # casts: (uint64_t)1 << 40
    expr = re.sub(r"\b(0[xX][0-9a-fA-F]+|\d+)[uUlL]*\b", r"\1", expr)
    expr = re.sub(r"\b[A-Za-z_]\w*\b", lambda m: str(known[m.group()]) if m.group() in known else m.group(), expr)
    tree = ast.parse(expr, mode="eval")
    for node in ast.walk(tree):
        if not isinstance(node, _ALLOWED) or (isinstance(node, ast.Constant) and type(node.value) is not int):
            raise HeaderError(f"not an integer constant expression: {expr!r}")
    return int(eval(compile(tree, "<header>", "eval"), {"__builtins__": {}}))  # only the nodes above


def parse(text: str) -> dict:
    """{"constants": {name: int|str}, "enums": {name: {member: int}}, "structs": {name: [(field, ctype)]}}."""
    code = _strip(text)
    constants: Dict[str, object] = {}
    ints: Dict[str, int] = {}
    for m in re.finditer(r"^\s*#\s*define\s+(\w+)[ \t]+([^\n]+)$", code, flags=re.M):
        name, value = m.group(1), m.group(2).strip()
        if value.startswith('"'):
            constants[name] = json.loads(value)
        else:
            ints[name] = constants[name] = _eval_int(value, ints)
    code = re.sub(r"^\s*#[^\n]*$", " ", code, flags=re.M)

    enums: Dict[str, Dict[str, int]] = {}
    for m in re.finditer(r"\benum\s+(\w+)\s*(?::\s*\w+\s*)?\{(.*?)\}", code, flags=re.S):
        members: Dict[str, int] = {}
        nxt = 0
        for item in (s.strip() for s in m.group(2).split(",")):
            if not item:
                continue
            name, _, value = (p.strip() for p in item.partition("="))
            nxt = _eval_int(value, {**ints, **members}) if value else nxt
            members[name] = nxt
            nxt += 1
        enums[m.group(1)] = members

    # typedef <type> <name>; (not function pointers, not struct/enum bodies)
    typedefs: Dict[str, str] = {}
    for m in re.finditer(r"\btypedef\s+([\w\s\*]+?)\s*\b(\w+)\s*;", code):
        typedefs[m.group(2)] = " ".join(m.group(1).split())

    structs: Dict[str, Fields] = {}
    for m in re.finditer(r"\bstruct\s+(\w+)\s*\{(.*?)\}", code, flags=re.S):
        fields: Fields = []
        for decl in (s.strip() for s in m.group(2).split(";")):
            if not decl:
                continue
            f = re.fullmatch(r"(.+?)\s*\b(\w+)", " ".join(decl.split()))
            if f is None or "[" in decl or "(" in decl:
                raise HeaderError(f"struct {m.group(1)}: field not understood: {decl!r}")
            fields.append((f.group(2), _ctype(f.group(1), typedefs, enums)))
        structs[m.group(1)] = fields

    # The config setters: ws_status ws_config_(set|add)_NAME(ws_config cfg, ...);
    setters: Dict[str, Fields] = {}
    for m in re.finditer(r"\bws_status\s+(ws_config_(?:set|add)_\w+)\s*\(([^)]*)\)\s*;", code):
        params: Fields = []
        for decl in (" ".join(p.split()) for p in m.group(2).split(",")):
            f = re.fullmatch(r"(.+?)\s*\b(\w+)", decl)
            if f is None:
                raise HeaderError(f"{m.group(1)}: parameter not understood: {decl!r}")
            params.append((f.group(2), _ctype(f.group(1), typedefs, enums)))
        setters[m.group(1)] = params

    for kind, found in (("#define WS_*", [c for c in constants if c.startswith("WS_")]), ("enum", enums),
                        ("struct", structs), ("config setter", setters)):
        if not found:
            raise HeaderError(f"no {kind} found: is this the wsclient header?")
    return {"constants": constants, "enums": enums, "structs": structs, "setters": setters}


def _ctype(decl: str, typedefs: Dict[str, str], enums: Dict[str, Dict[str, int]]) -> str:
    """A field's C type with typedefs resolved: "ws_handle" -> "uint64_t", "const char *" stays."""
    decl = decl.replace("*", " * ")
    words = decl.split()
    for _ in range(16):  # typedef chains are short
        base = [w for w in words if w not in ("const", "volatile", "*", "struct", "enum")]
        if len(base) != 1:
            raise HeaderError(f"C type not understood: {decl!r}")
        name = base[0]
        if name in typedefs:
            words[words.index(name)] = typedefs[name]
            words = " ".join(words).replace("*", " * ").split()
        elif name in enums:
            words[words.index(name)] = "int"  # a C enum without a fixed-width typedef
        else:
            break
    out = " ".join(w for w in words if w not in ("struct", "enum"))
    return out.replace(" *", "*").replace("*", " *").replace("* *", "**").strip()


# --- writing -------------------------------------------------------------------------------------

_NOTE = "Generated by tools/gen_bindings.py from include/wsclient.h: do not edit; `make bindings-gen` regenerates."


def _sorted(parsed: dict) -> Tuple[List[Tuple[str, object]], List[Tuple[str, List[Tuple[str, int]]]], List[Tuple[str, Fields]]]:
    constants = sorted(parsed["constants"].items())
    enums = [(n, sorted(m.items(), key=lambda kv: (abs(kv[1]), kv[1], kv[0]))) for n, m in sorted(parsed["enums"].items())]
    structs = sorted(parsed["structs"].items())
    return constants, enums, structs


def render_python(parsed: dict) -> str:
    constants, enums, structs = _sorted(parsed)
    out = [f'"""The C surface as data. {_NOTE}"""', "", "from typing import Dict, List, Tuple", ""]
    out += ["# #define", *(f"{n} = {v!r}" for n, v in constants), ""]
    for name, members in enums:
        out += [f"# enum {name}", *(f"{m} = {v}" for m, v in members), ""]
    out += ["#: enum name -> {member: value}", "ENUMS: Dict[str, Dict[str, int]] = {"]
    for name, members in enums:
        out += [f"    {name!r}: {{", *(f"        {m!r}: {m}," for m, _ in members), "    },"]
    out += ["}", "", "#: struct name -> [(field, C type)], in layout order", "STRUCTS: Dict[str, List[Tuple[str, str]]] = {"]
    for name, fields in structs:
        out.append(f"    {name!r}: [")
        out += [f"        ({f!r}, {t!r})," for f, t in fields]
        out.append("    ],")
    out += ["}", "", "#: config setter -> [(parameter, C type)]; each returns a ws_status (int32_t)",
            "SETTERS: Dict[str, List[Tuple[str, str]]] = {"]
    for name, params in sorted(parsed["setters"].items()):
        out.append(f"    {name!r}: [{', '.join(f'({p!r}, {t!r})' for p, t in params)}],")
    out += ["}", ""]
    return "\n".join(out)


def _js(v: object) -> str:
    if isinstance(v, int) and abs(v) > 2**53 - 1:
        return f"{v}n"
    return json.dumps(v)


def render_node(parsed: dict) -> str:
    constants, enums, structs = _sorted(parsed)
    out = ["'use strict';", f"// The C surface as data. {_NOTE}", "", "const defines = Object.freeze({"]
    out += [f"  {n}: {_js(v)}," for n, v in constants]
    out += ["});", "", "// enum name -> { member: value }", "const enums = Object.freeze({"]
    for name, members in enums:
        out.append(f"  {name}: Object.freeze({{")
        out += [f"    {m}: {v}," for m, v in members]
        out.append("  }),")
    out += ["});", "", "// Every #define and enum member by name, as in C.",
            "const constants = Object.freeze(Object.assign({}, defines, ...Object.values(enums)));", "",
            "// struct name -> [[field, C type]], in layout order", "const structs = Object.freeze({"]
    for name, fields in structs:
        out.append(f"  {name}: Object.freeze([")
        out += [f"    [{json.dumps(f)}, {json.dumps(t)}]," for f, t in fields]
        out.append("  ]),")
    out += ["});", "", "// config setter -> its koffi signature (ws_status is int32_t)", "const setters = Object.freeze({"]
    for name, params in sorted(parsed["setters"].items()):
        sig = f"int32_t {name}({', '.join(f'{t} {p}' for p, t in params)})"
        out.append(f"  {name}: {json.dumps(sig)},")
    out += ["});", "", "module.exports = { constants, defines, enums, structs, setters };", ""]
    return "\n".join(out)


def outputs(header: Path = HEADER) -> Dict[Path, str]:
    parsed = parse(header.read_text(encoding="utf-8"))
    return {PYTHON_OUT: render_python(parsed), NODE_OUT: render_node(parsed)}


def main(argv: "List[str] | None" = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--check", action="store_true", help="exit 1 if a generated file differs from the header")
    ap.add_argument("--header", type=Path, default=HEADER, help="the header to read (default: include/wsclient.h)")
    args = ap.parse_args(argv)
    try:
        generated = outputs(args.header)
    except HeaderError as e:
        print(f"gen_bindings: {args.header.name}: {e}", file=sys.stderr)
        return 2
    stale = []
    for path, text in generated.items():
        rel = path.relative_to(ROOT)
        old = path.read_text(encoding="utf-8") if path.is_file() else None
        if old == text:
            continue
        if args.check:
            stale.append(rel)
            import difflib
            diff = difflib.unified_diff((old or "").splitlines(), text.splitlines(), f"{rel} (committed)",
                                        f"{rel} (from {args.header.name})", n=0, lineterm="")
            print("\n".join(list(diff)[:40]), file=sys.stderr)
        else:
            path.write_text(text, encoding="utf-8")
            print(f"gen_bindings: wrote {rel}")
    if stale:
        print(f"gen_bindings: {', '.join(map(str, stale))} differ from {args.header.name}: "
              "run `make bindings-gen` and commit the result", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
