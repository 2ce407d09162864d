import sys

from maskwatch.app.cli import main

sys.exit(main())
