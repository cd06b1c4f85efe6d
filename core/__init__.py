"""What every app shares and that knows no app: error answers, fault breakers, address budgets, SQL
helpers, logging, request bodies, secrets, the webhook destination rule."""

__version__ = "0.1.0"
