"""``python -m helpline`` runs the ``helpline`` command."""

from helpline.cli import main

if __name__ == "__main__":
    main()
