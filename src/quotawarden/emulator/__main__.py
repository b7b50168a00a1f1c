"""``python -m quotawarden.emulator --port N --scenario FILE``: serve the emulator in the foreground."""

from __future__ import annotations

import argparse

import uvicorn

from quotawarden.emulator.app import create_app
from quotawarden.emulator.scenario import Scenario, demo_scenario


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m quotawarden.emulator",
                                     description="Serve the provider emulator on 127.0.0.1.")
    parser.add_argument("--port", type=int, default=8900, help="port to listen on (default 8900)")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--scenario", help="scenario file (TOML or JSON); default: the demo scenario")
    args = parser.parse_args(argv)
    scenario = Scenario.load(args.scenario) if args.scenario else demo_scenario()
    print(f"emulating {len(scenario.accounts)} accounts on http://{args.host}:{args.port}")
    uvicorn.run(create_app(scenario), host=args.host, port=args.port, log_level="info")


if __name__ == "__main__":
    main()
