#!/usr/bin/env python3
"""CloudFormation corpus: run `tollgate check` on every template of public template corpora and
count accepted / refused by reason / not evaluated by type.

    scripts/corpus-cloudformation.py [--tollgate BIN] [--fetch] DIR...

DIR holds templates (searched recursively: .yaml .yml .json .template). With --fetch, the two
public corpora are cloned into /tmp/corpus/cloudformation first (aws-cloudformation-templates,
cfn-lint's test/fixtures/templates/good) and used when no DIR is given. The files are read, never
committed. A file is a template when its top level has `Resources` and either
`AWSTemplateFormatVersion` or a resource type `AWS::…` (what Tollgate itself looks for).

Accepted = exit 0 or 1 (judged: pass or policy failure); refused = exit 2, bucketed by the first
error's message with names, numbers and places taken out.

With --engine BIN (the engine's `load_templates` example: `cargo build -p tollgate-engine
--example load_templates`), files are only loaded, not judged: quicker to build than the
command, and it tells apart templates refused only for want of an environment and region
("envelope"); not evaluated then lists only the resources the importer does not model.
"""

import argparse
import collections
import json
import os
import re
import subprocess
import sys

CORPORA = {
    "aws-cloudformation-templates": ("https://github.com/aws-cloudformation/aws-cloudformation-templates", "."),
    "cfn-lint-good": ("https://github.com/aws-cloudformation/cfn-lint", "test/fixtures/templates/good"),
}
ROOT = "/tmp/corpus/cloudformation"


def fetch():
    os.makedirs(ROOT, exist_ok=True)
    dirs = []
    for name, (url, sub) in CORPORA.items():
        dest = os.path.join(ROOT, name)
        if not os.path.isdir(dest):
            subprocess.run(["git", "clone", "--depth", "1", "--filter=blob:none", "--sparse", url, dest], check=True)
            subprocess.run(["git", "-C", dest, "sparse-checkout", "set", sub], check=True)
        dirs.append(os.path.join(dest, sub))
    return dirs


def looks_like_template(text):
    t = text.lstrip()
    if t.startswith("{"):
        try:
            d = json.loads(t)
        except ValueError:
            return '"AWSTemplateFormatVersion"' in t
        return isinstance(d, dict) and "Resources" in d and (
            "AWSTemplateFormatVersion" in d or '"AWS::' in t)
    top = set()
    aws_type = False
    for line in text.splitlines():
        if line and not line.startswith((" ", "\t", "#", "-")):
            top.add(line.split(":")[0].strip().strip("\"'"))
        s = line.lstrip()
        if (s.startswith("Type:") or s.startswith('"Type":')) and "AWS::" in s:
            aws_type = True
    return "Resources" in top and ("AWSTemplateFormatVersion" in top or aws_type)


def templates(dirs):
    for d in dirs:
        for base, subdirs, files in os.walk(d):
            subdirs[:] = sorted(x for x in subdirs if not x.startswith("."))
            for f in sorted(files):
                if f.rsplit(".", 1)[-1].lower() in ("yaml", "yml", "json", "template"):
                    p = os.path.join(base, f)
                    try:
                        with open(p, encoding="utf-8", errors="replace") as fh:
                            text = fh.read()
                    except OSError:
                        continue
                    if looks_like_template(text):
                        yield p


def reason(stderr):
    """The first error's message, with its file, place, names and numbers taken out."""
    for line in stderr.splitlines():
        line = line.strip()
        if not line or line.startswith(("help", "=")):
            continue
        # file:line:col: $.path: message
        m = re.match(r"^(?:error: )?(?:\S+?:\d+:\d+: |\S+?: )?(?:\$\S*: )?(.*)$", line)
        msg = m.group(1) if m else line
        msg = re.sub(r"\(help:.*", "", msg)
        msg = re.sub(r"`[^`]*`", "`…`", msg)
        msg = re.sub(r"\"[^\"]*\"", '"…"', msg)
        msg = re.sub(r"\d+", "N", msg)
        return msg.strip()[:150]
    return "(no message)"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--tollgate", default="tollgate")
    ap.add_argument("--fetch", action="store_true")
    ap.add_argument("--engine", help="the load_templates example instead of `tollgate check`")
    ap.add_argument("--list", action="store_true", help="print each file's outcome")
    ap.add_argument("dirs", nargs="*")
    a = ap.parse_args()
    dirs = a.dirs or (fetch() if a.fetch else [])
    if not dirs:
        ap.error("give template directories, or --fetch")
    accepted, refused = 0, collections.Counter()
    not_evaluated = collections.Counter()
    examples = {}
    total = 0
    if a.engine:
        files = list(templates(dirs))
        out = subprocess.run([a.engine, *files], capture_output=True, text=True, timeout=1200).stdout
        for line in out.splitlines():
            p, outcome, rest = (line.split("\t", 2) + ["", ""])[:3]
            total += 1
            if outcome == "ok":
                accepted += 1
                for item in filter(None, rest.split("\x1f")):
                    m = re.search(r"\(([A-Za-z0-9]+(?:::[A-Za-z0-9]+)*)", item)
                    not_evaluated[m.group(1) if m else item] += 1
            else:
                why = ("(envelope only) " if outcome == "envelope" else "") + reason(rest)
                refused[why] += 1
                examples.setdefault(why, p)
            if a.list:
                print(f"{outcome:8} {p}: {rest[:200]}")
        files = []
    else:
        files = templates(dirs)
    for p in files:
        total += 1
        r = subprocess.run([a.tollgate, "check", "--no-waivers", "--format", "json", p],
                           capture_output=True, text=True, timeout=120)
        if r.returncode in (0, 1):
            accepted += 1
            try:
                report = json.loads(r.stdout)
            except ValueError:
                report = {}
            for item in report.get("not_evaluated", []):
                m = re.search(r"\(([A-Za-z0-9]+(?:::[A-Za-z0-9]+)*)", item)
                not_evaluated[m.group(1) if m else "(a modelled type no type-specific rule judges)"] += 1
            if a.list:
                print(f"ok  {p}")
        else:
            why = reason(r.stderr) if r.returncode == 2 else f"exit {r.returncode}: {reason(r.stderr)}"
            refused[why] += 1
            examples.setdefault(why, p)
            if a.list:
                print(f"ERR {p}: {why}")
    print(f"templates: {total}  accepted: {accepted}  refused: {total - accepted}")
    print("\nrefused by reason:")
    for why, n in refused.most_common():
        print(f"{n:5}  {why}    e.g. {examples[why]}")
    print("\nnot evaluated by type:")
    for t, n in not_evaluated.most_common():
        print(f"{n:5}  {t}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
