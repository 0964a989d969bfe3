"""Plain rules: no Flask, no database session."""
