import sys

try:
    from .cli import main
except KeyboardInterrupt:  # Ctrl-C before the command line is even loaded
    print("gonerd: interrupted", file=sys.stderr)
    sys.exit(130)

sys.exit(main())
