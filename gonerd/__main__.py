import os
import sys

try:
    from .cli import main
except KeyboardInterrupt:  # Ctrl-C before the command line is even loaded
    print("gonerd: interrupted", file=sys.stderr)
    sys.exit(130)

code = main()
if code == 130:
    # Interrupted and already said so in one line; everything worth keeping was written atomically before this.
    # Leave without the interpreter's finalisation, where Python resets SIGINT to its default action and an
    # interrupt still pending from a library's start-up (seen once under load) killed the process (status -2).
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(130)
sys.exit(code)
