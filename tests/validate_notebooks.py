"""Validate exported notebooks against the nbformat 4 schema; exit 1 naming the first invalid one."""
import sys
import nbformat

ok = True
for path in sys.argv[1:]:
    try:
        nb = nbformat.read(path, as_version=4)
        nbformat.validate(nb)
    except Exception as exc:  # any read or schema error
        print(f"{path}: invalid notebook: {exc}".splitlines()[0], file=sys.stderr)
        ok = False
print(f"validated {len(sys.argv) - 1} notebooks" if ok else "notebook validation failed")
sys.exit(0 if ok else 1)
