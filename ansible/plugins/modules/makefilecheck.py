#!/usr/bin/python
# -*- coding: utf-8 -*-
# Part of makefilecheck; MIT licence (see the repository's LICENSE).
"""Drives the installed makefilecheck through its --json documents."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: makefilecheck
short_description: Install, switch, repair and sync Sympl's hardened exim4 and dovecot configuration
version_added: "0.1.0"
description:
  - Runs the makefilecheck installed on the host (C(/usr/bin/makefilecheck)) with C(--json) and
    reports what its document says; C(changed) comes from the document, never from its text.
  - In check mode the command runs with C(--dry-run), which changes nothing and predicts C(changed).
  - In diff mode the files the command writes are shown with their text before and after
    (a file holding the Spamhaus key shows C((masked))); the built config, which make writes, is not shown.
  - A command makefilecheck refuses fails the task with its message, its fix and its exit code (C(rc)).
options:
  command:
    description: What to run.
    type: str
    required: true
    choices: [install, use, repair, sync, hooks]
  mode:
    description: For C(use), the tree to build from.
    type: str
    choices: [local, sympl]
  settings:
    description:
      - For C(install), settings that override the settings file, KEY to value, for example C(AUTO_CH2=N) or C(AUTO_IMAP_PORT=2143).
      - Not for the Spamhaus key, which would then be on the command line; use O(spamhaus_key).
    type: dict
    default: {}
  spamhaus_key:
    description:
      - For C(install), the Spamhaus DQS key (C(AUTO_SPAMHAUS_DB_KEY)). Passed on standard input, never on the command line, never logged.
    type: str
  config:
    description: For C(install), the settings file (default C(/etc/makefilecheck/Autoinstall.conf)).
    type: path
  only:
    description: For C(install), only these changes (C(ch1) to C(ch14)).
    type: list
    elements: str
  make:
    description:
      - For C(install), C(use), C(repair) and C(sync), also rebuild the built config (C(make APP.conf)), so the changes are in force.
      - For C(hooks), whether the triggers rebuild after an upgrade (the default) or leave it.
    type: bool
    default: true
  check:
    description: For C(install) and C(use), run the daemon's config test before anything goes live.
    type: bool
    default: true
  keep_local:
    description: For C(sync), snippet paths to settle by keeping the local file.
    type: list
    elements: str
    default: []
  take_upstream:
    description: For C(sync), snippet paths to settle by taking the upstream file.
    type: list
    elements: str
    default: []
  hooks:
    description: For C(hooks), install (C(present)) or remove (C(absent)) the upgrade triggers.
    type: str
    choices: [present, absent]
    default: present
  apps:
    description: Only these apps (default both).
    type: list
    elements: str
    choices: [exim4, dovecot]
  wait:
    description: Seconds to wait for another run's lock.
    type: int
  binary:
    description: The makefilecheck to run.
    type: path
    default: /usr/bin/makefilecheck
author:
  - makefilecheck authors
notes:
  - Check mode and diff mode are supported.
  - Exit 1 (action needed, e.g. a conflict sync could not settle, or a config test a sync saw refused) fails the task too; its document is returned.
"""

EXAMPLES = r"""
- name: Install the email changes and put them in force
  makefilecheck.fleet.makefilecheck:
    command: install
    settings:
      AUTO_CH2: "N"
      AUTO_CH6_DATABASE: nftfw
    spamhaus_key: "{{ vault_spamhaus_key }}"

- name: Settle a conflict by keeping the local file
  makefilecheck.fleet.makefilecheck:
    command: sync
    apps: [exim4]
    keep_local: [00-main/50-tls-options]

- name: Install the upgrade triggers
  makefilecheck.fleet.makefilecheck:
    command: hooks
    hooks: present
"""

RETURN = r"""
document:
  description: makefilecheck's --json document of the run (of the dry run in check mode).
  returned: when makefilecheck ran
  type: dict
apps:
  description: The document's per-app entries, each with its own C(changed).
  returned: when makefilecheck ran and did not refuse
  type: list
  elements: dict
rc:
  description: makefilecheck's exit code (0 done, 1 action needed, 2 bad input, 3 environment).
  returned: when makefilecheck ran
  type: int
fix:
  description: What makefilecheck says fixes a refusal.
  returned: on a refusal that names one
  type: str
path:
  description: The path a refusal is about.
  returned: on a refusal that names one
  type: str
diff:
  description: Per file, C(before), C(after) and their headers (diff mode).
  returned: in diff mode
  type: list
  elements: dict
"""

import json
import os

from ansible.module_utils.basic import AnsibleModule

# Commands that take these options (makefilecheck's own table, src/args.ts).
TAKES_MAKE = ("install", "use", "repair", "sync")
TAKES_CHECK = ("install", "use")
KEY_SETTING = "AUTO_SPAMHAUS_DB_KEY"


def command_line(module, dry_run):
    """The argv of one makefilecheck run (the key is never in it)."""
    p = module.params
    cmd = p["command"]
    argv = [p["binary"], "--json", cmd]
    if cmd == "use":
        if not p["mode"]:
            module.fail_json(msg="command=use needs mode (local or sympl)")
        argv.append(p["mode"])
    for app in p["apps"] or []:
        argv += ["-a", app]
    if cmd in TAKES_MAKE and p["make"]:
        argv.append("--make")
    if cmd == "hooks":
        argv.append("--install" if p["hooks"] == "present" else "--remove")
        if not p["make"]:
            argv.append("--no-make")
    if cmd in TAKES_CHECK and not p["check"]:
        argv.append("--no-check")
    if cmd == "install":
        if p["config"]:
            argv += ["--config", p["config"]]
        if p["only"]:
            argv += ["--only", ",".join(p["only"])]
        for key, value in sorted(p["settings"].items()):
            if key == KEY_SETTING:
                module.fail_json(msg="settings must not hold %s: give it as spamhaus_key, which goes on standard input" % KEY_SETTING)
            argv += ["--set", "%s=%s" % (key, "" if value is None else value)]
        if p["spamhaus_key"] is not None:
            argv += ["--set-from-file", "%s=-" % KEY_SETTING]
    if cmd == "sync":
        for path in p["keep_local"]:
            argv += ["--keep-local", path]
        for path in p["take_upstream"]:
            argv += ["--take-upstream", path]
    if p["wait"] is not None:
        argv += ["--wait", str(p["wait"])]
    if dry_run:
        argv.append("--dry-run")
    return argv


def run(module, dry_run):
    """Runs makefilecheck once; returns (rc, document). Fails the task when there is no document."""
    argv = command_line(module, dry_run)
    stdin = module.params["spamhaus_key"]
    rc, out, err = module.run_command(argv, data=stdin, binary_data=stdin is not None, environ_update={"NO_COLOR": "1"})
    try:
        doc = json.loads(out)
    except ValueError:
        module.fail_json(msg="makefilecheck gave no JSON document (exit %d): %s" % (rc, (err or out).strip()), rc=rc)
    return rc, doc


def diff_of(doc):
    """Ansible's diff list from the dry run's files."""
    return [
        {
            "before_header": f["path"],
            "after_header": f["path"],
            "before": f["before"] if f["before"] is not None else "",
            "after": f["after"] if f["after"] is not None else "",
        }
        for f in doc.get("diff", [])
    ]


def fail_refused(module, rc, doc, diff):
    """A refusal (an error document) or an exit that needs a person: failed, with our words."""
    err = doc.get("error")
    if err:
        said = err.get("message") or "makefilecheck refused"
        if err.get("path"):
            said = "%s: %s" % (err["path"], said)
        extra = dict((k, err[k]) for k in ("fix", "path", "kind") if err.get(k))
        msg = "%s — %s" % (said, err["fix"]) if err.get("fix") else said
        module.fail_json(msg=msg, rc=rc, document=doc, **extra)
    # No error document: an app held back (e.g. the server cannot run Sympl's own tree) or a problem
    # the run reported; its own words say what needs a person.
    said = [a["held"] for a in doc.get("apps", []) if a.get("held")] + list(doc.get("notes", []))
    module.fail_json(
        msg="makefilecheck %s (exit %d): %s" % (module.params["command"], rc, "; ".join(said))
        if said
        else "makefilecheck %s: action needed (exit %d): run `makefilecheck status` on the host" % (module.params["command"], rc),
        rc=rc,
        document=doc,
        apps=doc.get("apps", []),
        changed=bool(doc.get("changed")),
        diff=diff,
    )


def main():
    module = AnsibleModule(
        argument_spec=dict(
            command=dict(type="str", required=True, choices=["install", "use", "repair", "sync", "hooks"]),
            mode=dict(type="str", choices=["local", "sympl"]),
            settings=dict(type="dict", default={}),
            spamhaus_key=dict(type="str", no_log=True),
            config=dict(type="path"),
            only=dict(type="list", elements="str"),
            make=dict(type="bool", default=True),
            check=dict(type="bool", default=True),
            keep_local=dict(type="list", elements="str", default=[]),
            take_upstream=dict(type="list", elements="str", default=[]),
            hooks=dict(type="str", choices=["present", "absent"], default="present"),
            apps=dict(type="list", elements="str", choices=["exim4", "dovecot"]),
            wait=dict(type="int"),
            binary=dict(type="path", default="/usr/bin/makefilecheck"),
        ),
        supports_check_mode=True,
    )
    if not os.path.exists(module.params["binary"]):
        if module.check_mode:
            # The package is not installed yet: a run would install it first, and then change things.
            module.exit_json(changed=True, msg="%s is not installed yet; the run would change things" % module.params["binary"])
        module.fail_json(msg="%s: no such file — install the makefilecheck package first" % module.params["binary"])

    diff = []
    if module.check_mode or module._diff:
        rc, predicted = run(module, dry_run=True)
        if rc != 0 or "error" in predicted:
            fail_refused(module, rc, predicted, diff_of(predicted))
        diff = diff_of(predicted)
        if module.check_mode:
            result = dict(changed=bool(predicted.get("changed")), rc=rc, document=predicted, apps=predicted.get("apps", []))
            if module._diff:
                result["diff"] = diff
            module.exit_json(**result)

    rc, doc = run(module, dry_run=False)
    if rc != 0 or "error" in doc:
        fail_refused(module, rc, doc, diff)
    result = dict(changed=bool(doc.get("changed")), rc=rc, document=doc, apps=doc.get("apps", []))
    if module._diff:
        result["diff"] = diff
    module.exit_json(**result)


if __name__ == "__main__":
    main()
