"""Turn one compose.yaml service into `podman run` arguments, so verify_image.sh runs what compose would.

Usage: compose_service.py COMPOSE SERVICE KEY=VALUE...   (KEY=VALUE: variables for ${...} and overrides of the
service's environment). Prints NUL-separated podman flags, then a lone "--", then the command.
Runs under Debian's python3 with python3-yaml (PyYAML resolves the `<<` merge keys).
"""

from __future__ import annotations

import re
import sys

import yaml

VAR = re.compile(r"\$\{(\w+)(?::([?-])([^}]*))?\}")


def interpolate(value: str, variables: dict[str, str]) -> str:
    """Compose's ${VAR}, ${VAR:-default} and ${VAR:?error}."""
    def one(m: re.Match[str]) -> str:
        name, op, arg = m.groups()
        if variables.get(name):
            return variables[name]
        if op == "?":
            sys.exit(f"compose: {name} is required: {arg}")
        return arg if op == "-" else ""

    return VAR.sub(one, value)


def main() -> None:
    path, service, *pairs = sys.argv[1:]
    variables = dict(pair.split("=", 1) for pair in pairs)
    with open(path, encoding="utf-8") as f:
        spec = yaml.safe_load(f)["services"][service]
    env = {k: interpolate(str(v), variables) for k, v in (spec.get("environment") or {}).items()}
    env.update({k: v for k, v in variables.items() if k in env})
    flags: list[str] = []
    for key, value in env.items():
        flags += ["-e", f"{key}={value}"]
    if spec.get("read_only"):
        flags += ["--read-only", "--read-only-tmpfs=false"]  # podman adds tmpfs mounts by default; Docker does not
    for mount in spec.get("tmpfs") or []:
        flags += ["--tmpfs", mount]
    for cap in spec.get("cap_drop") or []:
        flags += ["--cap-drop", cap]
    for opt in spec.get("security_opt") or []:
        flags += ["--security-opt", opt.removesuffix(":true")]
    if (spec.get("healthcheck") or {}).get("disable"):
        flags.append("--no-healthcheck")
    command = spec.get("command") or []
    sys.stdout.write("\0".join([*flags, "--", *command]) + "\0")


if __name__ == "__main__":
    main()
