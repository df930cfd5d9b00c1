"""``python -m dqm.service.cli``."""

from dqm.service.cli import main

if __name__ == "__main__":
    main()
