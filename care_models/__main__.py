import sys

from care_models.cli import main

sys.exit(main())
