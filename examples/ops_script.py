"""An ops script: tell everyone, then fail loudly if any outlet did not get it.

    BROADCAST_WEBHOOK_URL=https://cms.example.com/hooks/incidents \
    BROADCAST_WEBHOOK_SECRET=whsec_... python examples/ops_script.py
"""

import sys

import broadcast


def main() -> int:
    report = broadcast.send(
        "Sign-in, online play and the Store are unavailable. We are investigating.\n\n"
        "Games you own still work offline.",
        title="PlayStation Network is down; we are investigating",
        incident="psn-2011-04",
        severity="critical",
        author="Head of Network Operations",
    )
    print(report)
    return 0 if report.ok else 1


if __name__ == "__main__":
    sys.exit(main())
