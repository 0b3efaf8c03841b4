# SPDX-License-Identifier: Apache-2.0
# bench/delta/write_section.py - used by the delta benchmarks (run.sh,
# elf.sh) with --write: replaces one "## ..." section of docs/benchmarks.md
# (up to the next "## " heading) by new text, or appends it when absent
# (with --must-exist: refuses instead).
# Usage: write_section.py DOC HEADING TEXT_FILE [--must-exist]
import sys

doc, heading, text_file = sys.argv[1:4]
must_exist = "--must-exist" in sys.argv[4:]
text = open(doc).read()
section = open(text_file).read().rstrip() + "\n"
start = text.find(heading + "\n")
if start < 0:
    if must_exist:
        sys.exit(f"{doc}: no '{heading}' section")
    text = text.rstrip() + "\n\n" + section
else:
    end = text.find("\n## ", start + len(heading))
    text = text[:start] + section + (text[end:] if end >= 0 else "")
open(doc, "w").write(text)
