#!/usr/bin/env python3
"""Where a WebAssembly module's code goes, by crate.

Reads the module's code section and its name section (present in the build before
wasm-bindgen and wasm-opt: target/front/wasm32-unknown-unknown/wasm-release/app_split.wasm
is the entry module of a `--split` build) and sums each function's body size under the crate
its symbol names. Generic code counts where it is defined, so most of Paydeck's views appear
under tachys, and `<impl>` collects trait impls whose type the symbol does not name a crate for.

    python3 end2end/bench/wasm_crates.py MODULE.wasm [ROWS] [--match REGEX]
"""
import argparse
import collections
import re
import sys


def leb(data, i):
    result = shift = 0
    while True:
        byte = data[i]
        i += 1
        result |= (byte & 0x7F) << shift
        shift += 7
        if byte < 0x80:
            return result, i


def functions(data):
    """(name, body size) of every function the module defines."""
    if data[:4] != b"\0asm":
        sys.exit("not a WebAssembly module")
    imported, bodies, names = 0, [], {}
    i = 8
    while i < len(data):
        section = data[i]
        size, i = leb(data, i + 1)
        end = i + size
        if section == 2:  # imports: functions among them take the first indices
            count, j = leb(data, i)
            for _ in range(count):
                for _ in range(2):  # module and field names
                    n, j = leb(data, j)
                    j += n
                kind = data[j]
                j += 1
                if kind == 0:
                    _, j = leb(data, j)
                    imported += 1
                elif kind == 1:  # table: element type, limits
                    flags = data[j + 1]
                    _, j = leb(data, j + 2)
                    if flags & 1:
                        _, j = leb(data, j)
                elif kind == 2:  # memory: limits
                    flags = data[j]
                    _, j = leb(data, j + 1)
                    if flags & 1:
                        _, j = leb(data, j)
                elif kind == 3:  # global: type, mutability
                    j += 2
                else:  # tag
                    _, j = leb(data, j + 1)
        elif section == 10:  # code
            count, j = leb(data, i)
            for _ in range(count):
                n, j = leb(data, j)
                bodies.append(n)
                j += n
        elif section == 0:  # custom: the name section
            n, j = leb(data, i)
            if data[j:j + n] == b"name":
                j += n
                while j < end:
                    sub = data[j]
                    n, j = leb(data, j + 1)
                    if sub == 1:  # function names
                        count, k = leb(data, j)
                        for _ in range(count):
                            index, k = leb(data, k)
                            length, k = leb(data, k)
                            names[index] = data[k:k + length].decode("utf8", "replace")
                            k += length
                    j += n
        i = end
    return [(names.get(imported + k, "?"), size) for k, size in enumerate(bodies)]


def crate(symbol):
    """The crate a (legacy-mangled or plain) symbol belongs to."""
    m = re.match(r"_ZN(\d+)", symbol)
    if m:
        rest = symbol[len(m.group(0)):]
        first = rest[: int(m.group(1))]
        if first.startswith("_$LT$"):
            inner = re.search(r"\$LT\$([a-z_0-9]+)\.\.", rest)
            return inner.group(1) if inner else "<impl>"
        return first
    return symbol.split("::")[0][:30]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("module")
    parser.add_argument("rows", nargs="?", type=int, default=20)
    parser.add_argument("--match", help="also sum the functions whose name matches this regex")
    args = parser.parse_args()
    funcs = functions(open(args.module, "rb").read())
    total = sum(size for _, size in funcs)
    print(f"{len(funcs)} functions, {total / 1024:.1f} KiB of code")
    by_crate = collections.Counter()
    for name, size in funcs:
        by_crate[crate(name)] += size
    for name, size in by_crate.most_common(args.rows):
        print(f"{size / 1024:8.1f} KiB {100 * size / total:5.1f} %  {name}")
    if args.match:
        matched = sum(size for name, size in funcs if re.search(args.match, name))
        print(f"{matched / 1024:8.1f} KiB {100 * matched / total:5.1f} %  matching {args.match}")


if __name__ == "__main__":
    main()
